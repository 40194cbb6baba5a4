//! Replica sets for real MongoDB, the same for every provider that starts
//! `mongod`: the scenario's shape of the set ([`ReplicaSetOptions`]), the
//! `replSetInitiate` configuration built from it, and the wait for an
//! elected primary. FerretDB has no replica sets; the engine check happens
//! before anything here runs.

use std::time::{Duration, Instant};

use bson::{Document, doc};

use super::NodeRole;
use super::ready::{hello, probe_client};

/// The replica set's name, as given to `--replSet`.
pub const REPLICA_SET_NAME: &str = "drill";

/// How the scenario shapes the replica set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplicaSetOptions {
    /// Add one arbiter after the data-bearing members.
    pub arbiter: bool,
    /// Priorities of the data-bearing members, in order; missing ones are 1.
    pub priorities: Vec<f64>,
    /// Votes of the data-bearing members, in order; missing ones are 1.
    pub votes: Vec<i32>,
}

impl ReplicaSetOptions {
    /// The role of every node: `data_members` data nodes, then the arbiter
    /// when asked.
    pub fn roles(&self, data_members: usize) -> Vec<NodeRole> {
        let mut roles = vec![NodeRole::Data; data_members];
        if self.arbiter {
            roles.push(NodeRole::Arbiter);
        }
        roles
    }

    /// The `replSetInitiate` configuration with one member per host (data
    /// members first, then the arbiter), validated by MongoDB's rules.
    /// Providers pass the addresses both the members and the harness reach.
    pub fn config_with_hosts(&self, hosts: Vec<String>) -> Result<ReplicaSetConfig, ReplicaSetConfigError> {
        let data_members = hosts.len() - usize::from(self.arbiter && !hosts.is_empty());
        let members = self
            .roles(data_members)
            .into_iter()
            .zip(hosts)
            .enumerate()
            .map(|(index, (role, host))| match role {
                NodeRole::Arbiter => Member {
                    host,
                    priority: 0.0,
                    votes: 1,
                    arbiter: true,
                },
                NodeRole::Data => Member {
                    host,
                    priority: self.priorities.get(index).copied().unwrap_or(1.0),
                    votes: self.votes.get(index).copied().unwrap_or(1),
                    arbiter: false,
                },
            })
            .collect();
        let config = ReplicaSetConfig {
            name: REPLICA_SET_NAME.into(),
            members,
        };
        config.validate()?;
        Ok(config)
    }
}

/// Why a replica set did not come up.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaSetError {
    /// The configuration breaks MongoDB's rules.
    #[error("invalid replica-set configuration")]
    Config(#[from] ReplicaSetConfigError),
    /// A member's connection string could not make a client.
    #[error("cannot make a client for {uri}")]
    Client {
        /// The member.
        uri: String,
        /// The driver's error.
        #[source]
        source: mongodb::error::Error,
    },
    /// The seed member refused the configuration.
    #[error("replSetInitiate failed")]
    Initiate(#[source] mongodb::error::Error),
    /// No member became writable primary in time.
    #[error("no primary elected within {timeout_secs} s")]
    NoPrimary {
        /// The wait.
        timeout_secs: u64,
    },
}

/// One member of a replica set.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// `host:port` as the other members reach it.
    pub host: String,
    /// Election priority (0 never becomes primary).
    pub priority: f64,
    /// Votes (0 or 1).
    pub votes: i32,
    /// An arbiter votes and holds no data.
    pub arbiter: bool,
}

impl Member {
    /// A data-bearing member with priority 1 and one vote.
    pub fn new(host: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            priority: 1.0,
            votes: 1,
            arbiter: false,
        }
    }
}

/// The configuration passed to `replSetInitiate`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaSetConfig {
    /// The set's name, as given to `--replSet`.
    pub name: String,
    /// Its members, `_id` in order.
    pub members: Vec<Member>,
}

/// Why a configuration is invalid (MongoDB would refuse it).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReplicaSetConfigError {
    /// No members.
    #[error("a replica set needs at least one member")]
    Empty,
    /// More than 7 voting members.
    #[error("a replica set has at most 7 voting members, this one has {0}")]
    TooManyVoters(usize),
    /// More than 50 members.
    #[error("a replica set has at most 50 members, this one has {0}")]
    TooManyMembers(usize),
    /// No member can become primary.
    #[error("no member can become primary (every data-bearing member has priority 0 or no vote)")]
    NoElectable,
    /// An arbiter with a priority or without a vote.
    #[error("arbiter {0} must have priority 0 and one vote")]
    BadArbiter(String),
    /// A member with priority > 0 and no vote.
    #[error("member {0} has no vote, so its priority must be 0")]
    NonVoterWithPriority(String),
}

impl ReplicaSetConfig {
    /// Checks the rules MongoDB enforces on a configuration.
    pub fn validate(&self) -> Result<(), ReplicaSetConfigError> {
        if self.members.is_empty() {
            return Err(ReplicaSetConfigError::Empty);
        }
        if self.members.len() > 50 {
            return Err(ReplicaSetConfigError::TooManyMembers(self.members.len()));
        }
        let voters = self.members.iter().filter(|member| member.votes > 0).count();
        if voters > 7 {
            return Err(ReplicaSetConfigError::TooManyVoters(voters));
        }
        for member in &self.members {
            if member.arbiter && (member.priority != 0.0 || member.votes != 1) {
                return Err(ReplicaSetConfigError::BadArbiter(member.host.clone()));
            }
            if member.votes == 0 && member.priority > 0.0 {
                return Err(ReplicaSetConfigError::NonVoterWithPriority(member.host.clone()));
            }
        }
        if !self
            .members
            .iter()
            .any(|member| !member.arbiter && member.priority > 0.0 && member.votes > 0)
        {
            return Err(ReplicaSetConfigError::NoElectable);
        }
        Ok(())
    }

    /// The document for `{replSetInitiate: <this>}`.
    pub fn to_document(&self) -> Document {
        let members: Vec<bson::Bson> = self
            .members
            .iter()
            .enumerate()
            .map(|(id, member)| {
                let mut entry = doc! { "_id": id as i32, "host": &member.host };
                if member.arbiter {
                    entry.insert("arbiterOnly", true);
                } else {
                    entry.insert("priority", member.priority);
                }
                entry.insert("votes", member.votes);
                bson::Bson::Document(entry)
            })
            .collect();
        doc! { "_id": &self.name, "members": members }
    }
}

/// Runs `replSetInitiate` on `seed_uri` and waits until some member of
/// `member_uris` reports itself writable primary. Returns the primary's URI.
pub async fn initiate_and_wait(
    seed_uri: &str,
    member_uris: &[String],
    config: &ReplicaSetConfig,
    timeout: Duration,
) -> Result<String, ReplicaSetError> {
    config.validate()?;
    let client = probe_client(seed_uri).await.map_err(|source| ReplicaSetError::Client {
        uri: seed_uri.to_string(),
        source,
    })?;
    client
        .database("admin")
        .run_command(doc! { "replSetInitiate": config.to_document() })
        .await
        .map_err(ReplicaSetError::Initiate)?;
    wait_for_primary(member_uris, timeout).await
}

/// Polls `hello` on every member until one is writable primary.
pub async fn wait_for_primary(member_uris: &[String], timeout: Duration) -> Result<String, ReplicaSetError> {
    let started = Instant::now();
    let mut clients = Vec::new();
    for uri in member_uris {
        let client = probe_client(uri).await.map_err(|source| ReplicaSetError::Client {
            uri: uri.clone(),
            source,
        })?;
        clients.push((uri.clone(), client));
    }
    loop {
        for (uri, client) in &clients {
            if let Ok(Ok(reply)) = tokio::time::timeout(Duration::from_secs(1), hello(client)).await
                && reply.get_bool("isWritablePrimary").unwrap_or(false)
            {
                return Ok(uri.clone());
            }
        }
        if started.elapsed() > timeout {
            return Err(ReplicaSetError::NoPrimary {
                timeout_secs: timeout.as_secs(),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn three() -> ReplicaSetConfig {
        ReplicaSetConfig {
            name: "drill".into(),
            members: vec![Member::new("a:1"), Member::new("b:2"), Member::new("c:3")],
        }
    }

    #[test]
    fn three_members_make_a_valid_initiate_document() {
        let config = three();
        assert_eq!(config.validate(), Ok(()));
        let document = config.to_document();
        assert_eq!(document.get_str("_id").unwrap(), "drill");
        let members = document.get_array("members").unwrap();
        assert_eq!(members.len(), 3);
        let second = members[1].as_document().unwrap();
        assert_eq!(second.get_i32("_id").unwrap(), 1);
        assert_eq!(second.get_str("host").unwrap(), "b:2");
        assert_eq!(second.get_f64("priority").unwrap(), 1.0);
    }

    #[test]
    fn arbiter_is_marked_and_has_no_priority_field() {
        let mut config = three();
        config.members[2] = Member {
            host: "c:3".into(),
            priority: 0.0,
            votes: 1,
            arbiter: true,
        };
        assert_eq!(config.validate(), Ok(()));
        let document = config.to_document();
        let arbiter = document.get_array("members").unwrap()[2].as_document().unwrap().clone();
        assert!(arbiter.get_bool("arbiterOnly").unwrap());
        assert!(arbiter.get("priority").is_none());
    }

    #[test]
    fn invalid_configurations_are_refused() {
        let mut config = three();
        for member in &mut config.members {
            member.priority = 0.0;
        }
        assert_eq!(config.validate(), Err(ReplicaSetConfigError::NoElectable));
        let eight = ReplicaSetConfig {
            name: "x".into(),
            members: (0..8).map(|index| Member::new(format!("h:{index}"))).collect(),
        };
        assert_eq!(eight.validate(), Err(ReplicaSetConfigError::TooManyVoters(8)));
        let mut non_voter = three();
        non_voter.members[0].votes = 0;
        assert!(matches!(
            non_voter.validate(),
            Err(ReplicaSetConfigError::NonVoterWithPriority(_))
        ));
    }
}
