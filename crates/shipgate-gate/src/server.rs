//! `shipgate serve`: open the state, sweep crash leftovers, bind, serve until
//! SIGTERM or ctrl-c, then finish in-flight requests and close the database.

use std::future::Future;
use std::net::SocketAddr;

use std::time::Duration;

use crate::api::{self, AppState, Parts};
use crate::blobs::SweepReport;
use crate::config::GateConfig;
use crate::execution::{ExecutionIssuer, ExecutionKeyError};
use crate::publishers::PublisherAuth;
use crate::signing::{GateKey, KeyLoadError};
use crate::storage::{Db, PackagePolicy, StorageError};
use crate::tlog::LogSigner;
use crate::tlog::service::LogService;
use shipgate_oidc::listen;

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The blob store could not be opened or swept.
    #[error("blob store {store}: {source}")]
    Blobs {
        /// The store (`directory PATH`, `s3://BUCKET/PREFIX`).
        store: String,
        /// What failed.
        source: crate::blobs::SweepError,
    },
    /// The gate key could not be loaded.
    #[error(transparent)]
    Key(#[from] KeyLoadError),
    #[error(transparent)]
    Secrets(#[from] crate::secrets::SecretsError),
    /// The execution-token keys could not be read or created.
    #[error(transparent)]
    ExecutionKeys(#[from] ExecutionKeyError),
    /// The public URL cannot name the transparency log.
    #[error("gate config: {0}")]
    LogOrigin(#[from] crate::tlog::OriginError),
    /// A registry target's credential could not be loaded.
    #[error(transparent)]
    Publishing(#[from] crate::publish_worker::PublishingError),
    /// A webhook's secret could not be loaded.
    #[error(transparent)]
    Webhooks(#[from] crate::webhook_worker::WebhookSetupError),
    /// A `[[witness]]` entry is unusable.
    #[error("gate config: {0}")]
    Witnesses(String),
    /// The trusted-publisher setup failed.
    #[error("trusted publishers: {0}")]
    Publishers(String),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TLS certificate or key could not be loaded.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// The data directory is in use by another gate (or could not be locked).
    #[error(transparent)]
    Lock(#[from] crate::backup::BackupError),
    /// The runtime or the server failed.
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// Builds the gate's state from its config: database, blob sweep, key.
pub async fn open_state(config: GateConfig) -> Result<(AppState, SweepReport), ServeError> {
    let db = Db::connect(&config.database()?).await?;
    // The log records the approval policy it runs under, so auditors can
    // check every release against it.
    let policies: Vec<PackagePolicy> = config
        .packages
        .iter()
        .map(|p| PackagePolicy {
            package: p.name.clone(),
            quorum: p.quorum,
            maintainers: p.maintainers.clone(),
            approval: p.approval.as_str(),
        })
        .collect();
    db.log_package_policies(&policies, crate::unix_now())
        .await?;
    let (blobs, grace) =
        crate::blobs::open_configured(&config).map_err(|source| ServeError::Blobs {
            store: config.blobs.clone().unwrap_or_else(|| "DATA/blobs".into()),
            source: source.into(),
        })?;
    // Before accepting any upload: nothing in flight in this process can own
    // a blob yet; other replicas' uploads are protected by the grace period.
    let swept = blobs
        .sweep(&db, grace, crate::unix_now())
        .await
        .map_err(|source| ServeError::Blobs {
            store: blobs.store().describe(),
            source,
        })?;
    if swept.temp_files > 0 || swept.unreferenced > 0 {
        tracing::warn!(
            temp_files = swept.temp_files,
            unreferenced = swept.unreferenced,
            kept_young = swept.kept_young,
            "removed leftovers of interrupted uploads"
        );
    }
    let key = GateKey::load(&config.gate_key_path())?;
    let secrets = config.secrets_key()?;
    db.seal_plain_secrets(&secrets).await?;
    let witnesses =
        crate::tlog::witnesses::Witnesses::from_config(&config.witnesses, &config.base_dir)
            .map_err(ServeError::Witnesses)?;
    let log = LogService::new(LogSigner::new(&config.public_url, key.signing_key())?)
        .with_witnesses(witnesses);
    let publishers = PublisherAuth::from_config(&config).map_err(ServeError::Publishers)?;
    let execution = ExecutionIssuer::open(&config)?;
    let publishing = crate::publish_worker::Publishing::load(&config)?;
    Ok((
        AppState::new(Parts {
            config,
            db,
            blobs,
            key,
            secrets,
            publishers,
            execution,
            log,
            publishing,
        }),
        swept,
    ))
}

/// Serves until `shutdown` resolves; `on_bound` gets the bound address.
pub async fn run(
    config: GateConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
    on_bound: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    let addr = config.listen;
    let mut config = config;
    // Bound first so that a `public_url` with port 0 (tests, scripts: listen
    // on `:0`) can name the real port: it is the execution tokens' issuer,
    // which verifiers must be able to reach.
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let bound = listener.local_addr()?;
    config.public_url =
        shipgate_oidc::server::issuer_with_bound_port(&config.public_url, bound.port());
    let limits = listen::Limits {
        idle_timeout: Duration::from_secs(config.idle_timeout_seconds),
        max_connections: config.max_connections,
    };
    // Held until this function returns: restores refuse to run meanwhile.
    let _serving = crate::backup::ServeLock::acquire(&config.data_dir())?;
    let certs = match config.tls_paths() {
        Some((cert, key)) => Some(crate::tls::CertStore::load(&cert, &key)?),
        None => None,
    };
    let acceptor = certs.as_ref().map(|c| c.acceptor()).transpose()?;
    let metrics_listener = match config.metrics_listen {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|source| ServeError::Bind { addr, source })?,
        ),
        None => None,
    };
    let (state, _) = open_state(config).await?;
    let webhooks = crate::webhook_worker::Webhooks::load(state.config())?;
    let db = state.db_handle();
    let interval = Duration::from_secs(state.config().maintenance_interval_seconds.max(1));
    let housekeeping = tokio::spawn(crate::maintenance::run_periodically(
        state.clone(),
        interval,
    ));
    let reloader = tokio::spawn(reload_on_hangup(certs));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    let when_stopped = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    let metrics_server = metrics_listener.map(|listener| {
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(%addr, "serving /metrics and /healthz");
        }
        tokio::spawn(listen::serve(
            listener,
            crate::metrics::router(state.clone()),
            limits,
            when_stopped(stopped.clone()),
        ))
    });
    // Picks up jobs a killed gate left pending, then each release as it commits.
    let publisher = tokio::spawn(crate::publish_worker::run(state.clone()));
    // Delivers what a killed gate left queued, then each event as it commits.
    let notifier = tokio::spawn(crate::webhook_worker::run(state.clone(), webhooks));
    // Never awaited by anything else: a witness that is down blocks nothing.
    let witnessing = crate::tlog::witnesses::spawn(state.clone());
    on_bound(bound);
    listen::serve_maybe_tls(
        listener,
        api::router(state),
        limits,
        acceptor,
        when_stopped(stopped),
    )
    .await;
    if let Some(metrics_server) = metrics_server {
        let _ = metrics_server.await;
    }
    reloader.abort();
    housekeeping.abort();
    publisher.abort();
    notifier.abort();
    for task in witnessing {
        task.abort();
    }
    db.close().await;
    Ok(())
}

/// Re-reads the TLS certificate and key on every SIGHUP (a bad pair is
/// logged and the one in service kept). Without TLS, SIGHUP is logged and
/// ignored rather than ending the process (`systemctl reload` sends it).
async fn reload_on_hangup(certs: Option<std::sync::Arc<crate::tls::CertStore>>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hangups) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP: TLS reload disabled");
            return;
        };
        while hangups.recv().await.is_some() {
            match &certs {
                Some(certs) => match certs.reload() {
                    Ok(()) => tracing::info!("SIGHUP: reloaded the TLS certificate and key"),
                    Err(err) => tracing::error!(
                        %err,
                        "SIGHUP: kept the TLS certificate in service; the new one is unusable"
                    ),
                },
                None => tracing::info!("SIGHUP: nothing to reload (no tls_cert configured)"),
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = certs;
    }
}

/// Runs the server on its own runtime until SIGTERM or ctrl-c.
pub fn serve_blocking(
    config: GateConfig,
    on_bound: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(config, shutdown_signal(), on_bound))
}

/// Resolves on ctrl-c or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
