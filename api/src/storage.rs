//! Where document bytes live (DESIGN §9 `STORAGE`): local files by default, or S3 and
//! S3-compatible stores.
//!
//! The backends are `object_store`'s (its [`ObjectStore`] trait is the seam: `LocalFileSystem`
//! and `AmazonS3` both implement it, and so does anything a deployment might add). [`Storage`]
//! adds what documents need on top: writing a stream of unknown length in bounded memory
//! (5 MiB multipart parts for S3, 256 KiB writes to a temporary file renamed into place for
//! local files), aborting it cleanly, and reading back as a stream.

use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::buffered::BufWriter;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::ObjectStore;
use qivr_shared::Config;
use secrecy::ExposeSecret;
use tokio::io::AsyncWriteExt;

/// Bytes buffered per part before they go to S3: its smallest allowed part (all but the last),
/// and so the memory an S3 upload holds at most.
const S3_PART_BYTES: usize = 5 * 1024 * 1024;
/// Bytes buffered before they are written to a local file.
const LOCAL_PART_BYTES: usize = 256 * 1024;

#[derive(Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    /// Prefix of every key (the part of `s3://bucket/prefix` after the bucket).
    prefix: Path,
    /// How much of an upload is held in memory before it is written out.
    part_bytes: usize,
    /// For logs and the start-up line: `local:/path` or `s3://bucket/prefix`.
    pub description: String,
}

impl Storage {
    /// Opens the storage named by `config.storage`: unset means `<data_dir>/files`.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        match config.storage.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(url) if url.starts_with("s3://") => {
                let rest = &url["s3://".len()..];
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                anyhow::ensure!(!bucket.is_empty(), "STORAGE {url:?} names no bucket");
                let documents = &config.documents;
                let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
                if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none() {
                    builder = builder.with_region(&documents.s3_region);
                }
                if let Some(endpoint) = &documents.s3_endpoint {
                    builder = builder.with_endpoint(endpoint).with_allow_http(endpoint.starts_with("http://"));
                }
                if let (Some(key), Some(secret)) = (&documents.s3_access_key_id, &documents.s3_secret_access_key) {
                    builder = builder.with_access_key_id(key).with_secret_access_key(secret.expose_secret());
                }
                let store = builder.build().context("configuring S3 document storage")?;
                Ok(Self { store: Arc::new(store), prefix: Path::from(prefix), part_bytes: S3_PART_BYTES, description: url.to_string() })
            }
            other => {
                let dir = match other {
                    Some(dir) => std::path::PathBuf::from(dir.strip_prefix("file://").unwrap_or(dir)),
                    None => config.data_dir.join("files"),
                };
                std::fs::create_dir_all(&dir).with_context(|| format!("creating the document directory {}", dir.display()))?;
                let dir = dir.canonicalize()?;
                let store = LocalFileSystem::new_with_prefix(&dir)?;
                Ok(Self { store: Arc::new(store), prefix: Path::default(), part_bytes: LOCAL_PART_BYTES, description: format!("local:{}", dir.display()) })
            }
        }
    }

    fn path(&self, key: &str) -> Path {
        self.prefix.parts().chain(Path::from(key).parts()).collect()
    }

    /// Starts writing `key`; nothing is visible under it until [`Upload::finish`].
    pub fn upload(&self, key: &str) -> Upload {
        Upload { writer: BufWriter::with_capacity(self.store.clone(), self.path(key), self.part_bytes) }
    }

    /// The content of `key` as a stream of chunks.
    pub async fn read(&self, key: &str) -> object_store::Result<BoxStream<'static, object_store::Result<Bytes>>> {
        Ok(self.store.get(&self.path(key)).await?.into_stream().boxed())
    }

    pub async fn delete(&self, key: &str) -> object_store::Result<()> {
        self.store.delete(&self.path(key)).await
    }
}

/// An object being written in parts.
pub struct Upload {
    writer: BufWriter,
}

impl Upload {
    pub async fn write(&mut self, chunk: Bytes) -> object_store::Result<()> {
        self.writer.put(chunk).await
    }

    /// Completes the object.
    pub async fn finish(mut self) -> std::io::Result<()> {
        self.writer.shutdown().await
    }

    /// Gives up: parts already sent are discarded and no object appears.
    pub async fn abort(mut self) {
        if let Err(error) = self.writer.abort().await {
            tracing::warn!(%error, "aborting an upload to document storage failed");
        }
    }
}
