//! The stores of one drill: the scenario's `[stores.NAME]` tables, opened
//! on first use. A gateway store starts its versitygw then (data folder in
//! the drill's folder, recorded for `drdrill clean` under the run record
//! `<run-id>-stores`) and is stopped by [`DrillStores::teardown`] or by a
//! region outage ([`DrillStores::outage`]). The transfers made are kept
//! for the report.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::error::StoreError;
use super::gateway::{Gateway, versitygw_binary};
use super::transfer::{Store, Transfer};
use crate::provider::record::{RecordedProcess, RunRecord};
use crate::scenario::StoreDecl;

/// The stores of a drill, and the gateways started for them.
#[derive(Debug)]
pub struct DrillStores {
    /// The scenario's declarations, by name.
    declared: BTreeMap<String, StoreDecl>,
    /// Where gateway data folders go (`<drill folder>/stores/<name>`).
    folder: PathBuf,
    /// The run id, for the record `clean` reads.
    run_id: String,
    /// Gateways started, by store name; stopped ones stay (down).
    gateways: BTreeMap<String, Gateway>,
    /// Every upload, copy and download made, in order.
    transfers: Vec<Transfer>,
}

impl DrillStores {
    /// The stores of a drill run `run_id`, none opened yet.
    pub fn new(declared: BTreeMap<String, StoreDecl>, folder: PathBuf, run_id: &str) -> Self {
        Self {
            declared,
            folder,
            run_id: run_id.to_owned(),
            gateways: BTreeMap::new(),
            transfers: Vec::new(),
        }
    }

    /// Opens store `name`, starting its gateway the first time.
    pub async fn open(&mut self, name: &str) -> Result<Store, StoreError> {
        let undeclared = || StoreError::Undeclared { name: name.to_owned() };
        let decl = self.declared.get(name).cloned().ok_or_else(undeclared)?;
        match decl {
            StoreDecl::Existing { spec } => Store::open(&spec),
            StoreDecl::Gateway {
                region,
                bucket,
                prefix,
                encryption,
            } => {
                if !self.gateways.contains_key(name) {
                    let binary = versitygw_binary().map_err(|source| StoreError::Gateway {
                        store: name.to_owned(),
                        source,
                    })?;
                    let data = self.folder.join(name);
                    let gateway = Gateway::start(&binary, &region, &data, std::slice::from_ref(&bucket))
                        .await
                        .map_err(|source| StoreError::Gateway {
                            store: name.to_owned(),
                            source,
                        })?;
                    self.gateways.insert(name.to_owned(), gateway);
                    self.save_record();
                }
                let mut spec = self.gateways[name].store(name, &bucket, &prefix);
                spec.encryption = encryption;
                Store::open(&spec)
            }
        }
    }

    /// The gateway of store `name`, if the harness started one.
    pub fn gateway(&self, name: &str) -> Option<&Gateway> {
        self.gateways.get(name)
    }

    /// Whether `name` is a gateway store.
    pub fn is_gateway(&self, name: &str) -> bool {
        matches!(self.declared.get(name), Some(StoreDecl::Gateway { .. }))
    }

    /// Takes store `name`'s region down: its gateway is stopped (started
    /// first if it never was, so that the outage is real). Returns the
    /// region and the endpoint that went away.
    pub async fn outage(&mut self, name: &str) -> Result<(String, String), StoreError> {
        if !self.is_gateway(name) {
            return Err(StoreError::NoGateway { store: name.to_owned() });
        }
        self.open(name).await?;
        let gateway = self
            .gateways
            .get_mut(name)
            .ok_or_else(|| StoreError::NoGateway { store: name.to_owned() })?;
        gateway.stop().await;
        let down = (gateway.region().to_owned(), gateway.endpoint().to_owned());
        self.save_record();
        Ok(down)
    }

    /// Records a transfer for the report.
    pub fn record(&mut self, transfer: Transfer) {
        self.transfers.push(transfer);
    }

    /// Every transfer made, in order.
    pub fn transfers(&self) -> &[Transfer] {
        &self.transfers
    }

    /// Stops every gateway and removes the record.
    pub async fn teardown(mut self) {
        for gateway in self.gateways.values_mut() {
            gateway.stop().await;
        }
        if !self.gateways.is_empty() {
            RunRecord::new(&self.record_id()).remove();
        }
    }

    fn record_id(&self) -> String {
        format!("{}-stores", self.run_id)
    }

    /// Rewrites the record of running gateways (best effort: a record that
    /// cannot be written only costs `clean` its knowledge).
    fn save_record(&self) {
        let mut record = RunRecord::new(&self.record_id());
        for (name, gateway) in &self.gateways {
            if let Some(pid) = gateway.pid() {
                record.processes.push(RecordedProcess {
                    pid: pid as i32,
                    start_time: crate::provider::record::process_start_time(pid as i32),
                    what: format!("versitygw for store {name} ({})", gateway.region()),
                    freezer: None,
                });
            }
        }
        record.dirs.push(self.folder.clone());
        let _ = record.save();
    }
}
