//! Replica sets of `mongo` containers: the shared
//! [`ReplicaSetOptions`](crate::provider::replica_set::ReplicaSetOptions)
//! with members named by container name on the run's network, to validate
//! a spec before anything is created.

use super::labels::container_name;
use super::node::SERVER_PORT;
pub use crate::provider::replica_set::{REPLICA_SET_NAME, ReplicaSetOptions};
use crate::provider::replica_set::{ReplicaSetConfig, ReplicaSetConfigError};

/// Data-bearing members when the scenario does not say.
pub const DEFAULT_MEMBERS: usize = 3;

impl ReplicaSetOptions {
    /// The configuration with members named by container name on the
    /// run's network, to validate a spec before anything starts.
    pub fn config(&self, run_id: &str, data_members: usize) -> Result<ReplicaSetConfig, ReplicaSetConfigError> {
        let hosts = (0..self.roles(data_members).len())
            .map(|index| format!("{}:{SERVER_PORT}", container_name(run_id, index)))
            .collect();
        self.config_with_hosts(hosts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::NodeRole;

    #[test]
    fn three_members_by_container_name() {
        let config = ReplicaSetOptions::default().config("r1", 3).unwrap();
        let hosts: Vec<&str> = config.members.iter().map(|member| member.host.as_str()).collect();
        assert_eq!(
            hosts,
            [
                "drill-r1-node-0:27017",
                "drill-r1-node-1:27017",
                "drill-r1-node-2:27017"
            ]
        );
        let document = config.to_document();
        assert_eq!(document.get_str("_id").unwrap(), "drill");
    }

    #[test]
    fn pinned_addresses_become_the_member_hosts() {
        let options = ReplicaSetOptions {
            arbiter: true,
            ..Default::default()
        };
        let config = options
            .config_with_hosts(vec![
                "10.89.0.2:27017".into(),
                "10.89.0.3:27017".into(),
                "10.89.0.4:27017".into(),
            ])
            .unwrap();
        assert_eq!(config.members[0].host, "10.89.0.2:27017");
        assert!(!config.members[1].arbiter);
        assert!(config.members[2].arbiter);
    }

    #[test]
    fn arbiter_is_an_extra_last_member_with_priority_zero() {
        let options = ReplicaSetOptions {
            arbiter: true,
            ..Default::default()
        };
        assert_eq!(options.roles(2), [NodeRole::Data, NodeRole::Data, NodeRole::Arbiter]);
        let config = options.config("r1", 2).unwrap();
        assert_eq!(config.members.len(), 3);
        assert!(config.members[2].arbiter);
        assert_eq!(config.members[2].priority, 0.0);
    }

    #[test]
    fn priorities_and_votes_apply_in_order_and_bad_ones_are_refused() {
        let options = ReplicaSetOptions {
            arbiter: false,
            priorities: vec![2.0, 0.0],
            votes: vec![1, 0],
        };
        let config = options.config("r1", 3).unwrap();
        assert_eq!(config.members[0].priority, 2.0);
        assert_eq!((config.members[1].priority, config.members[1].votes), (0.0, 0));
        assert_eq!(config.members[2].priority, 1.0);
        let nobody = ReplicaSetOptions {
            priorities: vec![0.0, 0.0],
            ..Default::default()
        };
        assert_eq!(nobody.config("r1", 2), Err(ReplicaSetConfigError::NoElectable));
    }
}
