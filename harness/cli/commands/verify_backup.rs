//! `drdrill verify-backup PATH`: checks a backup on disk without a server;
//! a backup as a store keeps it (`s3://bucket/prefix/ID`, or a folder
//! store's `ID` folder holding `drdrill-encryption.json`) is read through
//! the store layer, an encrypted one decrypted (streamed, nothing kept)
//! with `--identity`.

use std::path::PathBuf;

use clap::Args;
use drdrill::backup::verify::verify_backup;
use drdrill::store::{ENCRYPTION_FILE_NAME, Store, StoreAddress, StoreSpec};

use crate::cli::Outcome;
use crate::cli::output::{print_json, table};

/// `drdrill verify-backup`.
#[derive(Debug, Args)]
pub struct VerifyBackupArgs {
    /// Print JSON for machines instead of a table.
    #[arg(long)]
    pub json: bool,
    /// The age identity file that decrypts an encrypted backup (a store's
    /// `ID` folder or `s3://bucket/prefix/ID`).
    #[arg(long, value_name = "FILE")]
    pub identity: Option<PathBuf>,
    /// A dump folder, a database folder, an archive or a `.tar.gz`; or a
    /// backup in a store: `s3://bucket/prefix/ID` or a folder store's `ID`
    /// folder.
    pub path: PathBuf,
}

/// Runs `drdrill verify-backup`: exit 1 when a problem is found, 2 when
/// there is nothing at the path.
pub async fn run(args: VerifyBackupArgs, json: bool) -> anyhow::Result<Outcome> {
    if let Some((spec, id)) = in_store(&args)? {
        return run_in_store(&args, spec, &id, json).await;
    }
    if !args.path.exists() {
        anyhow::bail!("{}: no such file or folder", args.path.display());
    }
    let path = args.path.clone();
    let report = tokio::task::spawn_blocking(move || verify_backup(&path)).await?;
    if json {
        print_json(&report)?;
    } else {
        let rows: Vec<Vec<String>> = report
            .collections
            .iter()
            .map(|collection| {
                vec![
                    collection.namespace.clone(),
                    collection.documents.to_string(),
                    collection.md5.clone().unwrap_or_else(|| "-".to_owned()),
                    if collection.metadata { "yes" } else { "no" }.to_owned(),
                ]
            })
            .collect();
        print!("{}", table(&["collection", ">documents", "md5", "metadata"], &rows));
        for note in &report.notes {
            println!("note: {note}");
        }
        for problem in &report.problems {
            println!("problem: {}", problem.message);
        }
        println!(
            "{}: {}",
            args.path.display(),
            if report.is_ok() {
                "ok".to_owned()
            } else {
                format!("{} problem(s)", report.problems.len())
            }
        );
    }
    Ok(if report.is_ok() {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}

/// The store and id of `args.path` when it is a backup as a store keeps
/// it: `s3://bucket/prefix/ID`, or a folder holding the encryption record
/// or named with `--identity`; `None` for a backup read from disk.
fn in_store(args: &VerifyBackupArgs) -> anyhow::Result<Option<(StoreSpec, String)>> {
    let text = args.path.to_string_lossy();
    let (address, id) = if text.starts_with("s3://") {
        let Some((address, id)) = text
            .trim_end_matches('/')
            .rsplit_once('/')
            .filter(|(_, id)| !id.is_empty())
        else {
            anyhow::bail!("{text}: name the backup: s3://bucket/prefix/ID");
        };
        (StoreAddress::parse(address)?, id.to_owned())
    } else if args.path.join(ENCRYPTION_FILE_NAME).is_file() || (args.identity.is_some() && args.path.is_dir()) {
        let folder = args.path.parent().map(PathBuf::from).unwrap_or_default();
        let id = args.path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        (StoreAddress::Folder(folder), id)
    } else {
        return Ok(None);
    };
    let mut spec = StoreSpec::from_address(address.to_string(), address);
    spec.encryption.identity_file = args.identity.clone();
    Ok(Some((spec, id)))
}

/// Verifies backup `id` of the store `spec` names: every object hashed as
/// stored, and decrypted and hashed again when it is encrypted. Exit 1 on
/// a mismatch or a wrong key; an encrypted backup without `--identity` is
/// an error naming the flag.
async fn run_in_store(args: &VerifyBackupArgs, spec: StoreSpec, id: &str, json: bool) -> anyhow::Result<Outcome> {
    let store = Store::open(&spec)?;
    let encrypted = store.is_encrypted(id).await?;
    if encrypted && args.identity.is_none() {
        anyhow::bail!(
            "{}: the backup is encrypted (age): give --identity FILE, an age identity file, to decrypt and verify it",
            args.path.display()
        );
    }
    let verified = store.verify_decrypted(id).await;
    let problem = verified.as_ref().err().map(|error| drdrill::error::chain(error));
    if json {
        print_json(&serde_json::json!({
            "schema_version": 1,
            "backup": store.location_of(id),
            "encrypted": encrypted,
            "ok": problem.is_none(),
            "transfer": verified.as_ref().ok(),
            "problem": problem,
        }))?;
    } else {
        match &verified {
            Ok(transfer) => println!(
                "{}: ok: {} objects, {}{}",
                store.location_of(id),
                transfer.objects,
                transfer.summary(),
                if encrypted {
                    "; the stored bytes match drdrill-encryption.json, the decrypted ones the manifest"
                } else {
                    "; every object matches the manifest"
                }
            ),
            Err(_) => {
                println!("problem: {}", problem.clone().unwrap_or_default());
                println!("{}: 1 problem(s)", store.location_of(id));
            }
        }
    }
    Ok(if verified.is_ok() {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}
