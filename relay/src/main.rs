//! The `relay` binary: reads flags and environment, then runs [`relay::run`] until SIGTERM or Ctrl-C.

use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match std::env::args().nth(1).as_deref() {
        Some("invite") => return invite(),
        Some("check-config") => return check_config(),
        _ => {}
    }
    let config = match relay::config::file::load(std::env::args_os().collect()) {
        Ok(loaded) => loaded.config,
        Err(relay::config::file::ConfigError::Flags(e)) => e.exit(),
        Err(e) => {
            eprintln!("relay: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("relay=info"));
    match config.log_format {
        relay::config::LogFormat::Text => tracing_subscriber::fmt().with_env_filter(filter).init(),
        relay::config::LogFormat::Json => {
            tracing_subscriber::fmt().json().with_env_filter(filter).init()
        }
    }

    let listener = match tokio::net::TcpListener::bind(config.listen).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("relay: cannot listen on {}: {e}", config.listen);
            return std::process::ExitCode::FAILURE;
        }
    };
    let address = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
    let scheme = if config.https { "https" } else { "http" };
    if config.static_dir.is_some() {
        println!("Treffpunkt is running. Open {scheme}://{address}/?room=demo");
    } else {
        println!("Treffpunkt relay is listening on {address} (signalling only; no --static-dir)");
    }

    match relay::run(listener, config, shutdown_signals()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("relay: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `relay check-config [FILE] [flags]`: reads the settings as the relay would (file, environment,
/// flags), checks them, and prints each one that is set and where it came from.
fn check_config() -> std::process::ExitCode {
    use relay::config::file::{ConfigError, Source, load};
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    args[0] = "relay".into();
    // `relay check-config treffpunkt.toml` is `relay check-config --config treffpunkt.toml`.
    if args.get(1).is_some_and(|a| !a.to_string_lossy().starts_with('-')) {
        args.insert(1, "--config".into());
    }
    let loaded = match load(args) {
        Ok(loaded) => loaded,
        Err(ConfigError::Flags(e)) => e.exit(),
        Err(e) => {
            eprintln!("relay check-config: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    for (key, value, source) in &loaded.set {
        let from = match source {
            Source::Flag => "flag",
            Source::Environment => "environment",
            Source::File => "file",
        };
        println!("{key} = {value}    ({from})");
    }
    match loaded.config.check() {
        Ok(()) => {
            println!("The settings are fine; everything else keeps its default (relay --help).");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("relay check-config: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `relay invite ...`: prints a signed invitation link.
fn invite() -> std::process::ExitCode {
    let args = relay::config::invite::InviteArgs::parse_from(std::env::args().skip(1));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    match relay::config::invite::link(&args, now) {
        Ok(link) => {
            println!("{link}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("relay invite: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// One item for every Ctrl-C or SIGTERM: the first starts the shutdown, a second ends its wait
/// for meetings to finish (`--drain-secs`).
fn shutdown_signals() -> impl futures_util::Stream<Item = ()> + Send + Unpin + 'static {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    #[cfg(not(unix))]
    let term: Option<()> = None;
    Box::pin(futures_util::stream::unfold(term, |mut term| async move {
        #[cfg(unix)]
        match term.as_mut() {
            Some(signal) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = signal.recv() => {}
                }
            }
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
        Some(((), term))
    }))
}
