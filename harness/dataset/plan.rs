//! How many documents each collection of a profile gets for a total, and the
//! seed that makes them reproducible.

use serde::Serialize;

use super::error::DatasetError;
use super::profile::{CollectionSize, Generator, Profile};

/// A profile, a total and a seed: everything that decides the documents.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeedPlan {
    profile: Profile,
    total_documents: u64,
    seed: u64,
    /// Per collection, in profile order; adds up to `total_documents`.
    counts: Vec<(String, u64)>,
}

impl SeedPlan {
    /// Shares `total_documents` between the profile's collections: fixed
    /// counts first, the rest by weight (largest remainder, so the counts add
    /// up exactly), at least one document each.
    pub fn new(profile: &Profile, total_documents: u64, seed: u64) -> Result<SeedPlan, DatasetError> {
        let collections = profile.collections();
        let fixed: u64 = collections
            .iter()
            .map(|collection| match collection.size {
                CollectionSize::Count(count) => count,
                CollectionSize::Share(_) => 0,
            })
            .sum();
        let shared = collections
            .iter()
            .filter(|collection| matches!(collection.size, CollectionSize::Share(_)))
            .count() as u64;
        let minimum = (fixed + shared).max(1);
        if total_documents < minimum {
            return Err(DatasetError::TooFewDocuments {
                profile: profile.name().to_string(),
                requested: total_documents,
                minimum,
            });
        }
        if shared == 0 && total_documents != fixed {
            return Err(DatasetError::FixedTotal {
                profile: profile.name().to_string(),
                requested: total_documents,
                fixed,
            });
        }
        // What is left after fixed counts is split by weight; largest
        // remainders get the documents the floors leave over.
        let rest = u128::from(total_documents - fixed);
        let total_weight: u128 = collections
            .iter()
            .map(|collection| match collection.size {
                CollectionSize::Share(weight) => u128::from(weight),
                CollectionSize::Count(_) => 0,
            })
            .sum();
        let mut counts: Vec<(String, u64)> = Vec::with_capacity(collections.len());
        let mut remainders: Vec<(u128, usize)> = Vec::new();
        let mut handed_out: u128 = 0;
        for (position, collection) in collections.iter().enumerate() {
            let count = match collection.size {
                CollectionSize::Count(count) => count,
                CollectionSize::Share(weight) => {
                    let exact = rest * u128::from(weight);
                    let floor = exact / total_weight;
                    handed_out += floor;
                    remainders.push((exact % total_weight, position));
                    floor as u64
                }
            };
            counts.push((collection.name.clone(), count));
        }
        // Largest remainders first; ties go to the earlier collection.
        remainders.sort_by(|left, right| right.0.cmp(&left.0).then(left.1.cmp(&right.1)));
        let shared_positions: Vec<usize> = remainders.iter().map(|(_, position)| *position).collect();
        for (_, position) in remainders.into_iter().take((rest - handed_out) as usize) {
            counts[position].1 += 1;
        }
        // No collection stays empty: a tiny share takes one document from the
        // largest shared collection (there are enough, checked above).
        for &position in &shared_positions {
            if counts[position].1 == 0 {
                let largest = *shared_positions
                    .iter()
                    .max_by_key(|&&other| (counts[other].1, std::cmp::Reverse(other)))
                    .expect("a shared collection exists when one is empty");
                counts[largest].1 -= 1;
                counts[position].1 += 1;
            }
        }
        Ok(SeedPlan {
            profile: profile.clone(),
            total_documents,
            seed,
            counts,
        })
    }

    /// Documents per collection, in profile order.
    pub fn counts(&self) -> &[(String, u64)] {
        &self.counts
    }

    /// The number of documents of `collection` (0 when it is not in the plan).
    pub fn count(&self, collection: &str) -> u64 {
        self.counts
            .iter()
            .find(|(name, _)| name == collection)
            .map_or(0, |(_, count)| *count)
    }

    /// The number of documents of the collection built by `generator`, if
    /// the profile has one. Generators that refer to other collections
    /// (configurations name services and environments) use it.
    pub fn count_of(&self, generator: Generator) -> Option<u64> {
        self.profile
            .collections()
            .iter()
            .find(|collection| collection.generator == generator)
            .map(|collection| self.count(&collection.name))
    }

    /// The profile.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The total number of documents.
    pub fn total_documents(&self) -> u64 {
        self.total_documents
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shepherd() -> Profile {
        Profile::builtin("shepherd-cms").unwrap()
    }

    #[test]
    fn counts_add_up_exactly_for_many_totals() {
        let profile = shepherd();
        for total in (9..2_000).chain([20_000, 99_999, 100_000, 1_000_003, u64::from(u32::MAX) + 7]) {
            let plan = SeedPlan::new(&profile, total, 1).unwrap();
            let sum: u64 = plan.counts().iter().map(|(_, count)| count).sum();
            assert_eq!(sum, total, "total {total}: {:?}", plan.counts());
            assert!(
                plan.counts().iter().all(|(_, count)| *count >= 1),
                "{total}: {:?}",
                plan.counts()
            );
            assert_eq!(plan.count("environments"), 4);
        }
    }

    #[test]
    fn proportions_follow_the_shares() {
        let plan = SeedPlan::new(&shepherd(), 100_004, 1).unwrap();
        assert_eq!(plan.count("configurations"), 55_000);
        assert_eq!(plan.count("audit_log"), 30_000);
        assert_eq!(plan.count("users"), 6_000);
        assert_eq!(plan.count("feature_flags"), 6_000);
        assert_eq!(plan.count("services"), 3_000);
        assert_eq!(plan.count_of(Generator::Environments), Some(4));
    }

    #[test]
    fn too_few_documents_is_an_error() {
        let error = SeedPlan::new(&shepherd(), 0, 1).unwrap_err();
        assert!(
            matches!(error, DatasetError::TooFewDocuments { minimum: 9, .. }),
            "{error}"
        );
        assert!(SeedPlan::new(&shepherd(), 8, 1).is_err());
        assert!(SeedPlan::new(&shepherd(), 9, 1).is_ok());
    }

    #[test]
    fn fixed_only_profiles_take_their_exact_total() {
        let profile = Profile::parse(
            "name = \"e\"\n[[collections]]\nname = \"environments\"\ncount = 3\n",
            "e.toml",
        )
        .unwrap();
        assert_eq!(
            SeedPlan::new(&profile, 3, 1).unwrap().counts(),
            [("environments".to_string(), 3)]
        );
        assert!(matches!(
            SeedPlan::new(&profile, 4, 1),
            Err(DatasetError::FixedTotal { fixed: 3, .. })
        ));
    }
}
