//! What a manager does when its store's server dies, hangs, and comes back.
//!
//! Each test starts its **own** server on a free loopback port (so killing it
//! touches no other test), builds one manager over it, and then:
//!
//! - kills (or freezes) the server: loads and saves of stored sessions fail
//!   with `ErrorKind::Store` within the configured timeout, while
//!   cookie-only sessions on the same manager keep working;
//! - restarts it on the same port: the same manager, not rebuilt, saves and
//!   loads stored sessions again.
//!
//! They need the server binaries: `REDIS_SERVER_BIN` (path to redis-server),
//! `PG_BIN_DIR` (the directory holding initdb and pg_ctl), and, with the
//! `sqlx-mysql` feature, `MARIADBD_BIN` and `MARIADB_INSTALL_DB_BIN`, all
//! exported by `scripts/services.sh`'s `start_services`. As root, PostgreSQL
//! runs as the `postgres` user through `runuser`, and MariaDB as `mysql`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod store_support;

use std::future::Future;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::HeaderMap;
use sealed_session::store::Store;
use sealed_session::{Error, ErrorKind, FreshReason, Location, Saved, SessionManager};

/// The store's per-operation time limit in these tests.
const STORE_TIMEOUT: Duration = Duration::from_secs(1);

/// How long a failing operation may take before we call it a hang: the
/// timeout plus generous slack for a loaded CI machine.
const NO_HANG: Duration = Duration::from_secs(10);

/// How long a restarted server has to be usable again through the same
/// manager.
const RECOVERY: Duration = Duration::from_secs(20);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16, up: bool) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_ok() != up {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "port {port} did not come {}",
            if up { "up" } else { "down" }
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `op`, asserting it returns (ok or not) within [`NO_HANG`].
async fn timed<T>(what: &str, op: impl Future<Output = T>) -> T {
    let start = Instant::now();
    let out = tokio::time::timeout(NO_HANG, op)
        .await
        .unwrap_or_else(|_| panic!("{what} hung for more than {NO_HANG:?}"));
    eprintln!("{what}: returned after {:?}", start.elapsed());
    out
}

fn assert_store_error<T: std::fmt::Debug>(what: &str, result: Result<T, Error>) {
    match result {
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Store, "{what}: {e:?}");
            let source = std::error::Error::source(&e).map(ToString::to_string);
            eprintln!("{what}: {e} ({})", source.unwrap_or_default());
        }
        Ok(v) => panic!("{what} succeeded with the server down: {v:?}"),
    }
}

/// Saves a new session holding `data` and returns the request headers that
/// carry its cookie back, and what the save wrote.
async fn new_session(manager: &SessionManager, data: Vec<u8>) -> Result<(HeaderMap, Saved), Error> {
    let mut session = manager.load::<Vec<u8>>(&HeaderMap::new()).await?;
    session.set(data);
    let mut response = HeaderMap::new();
    let saved = manager.save(&mut session, &mut response).await?;
    Ok((store_support::cookie_from(&response), saved))
}

fn big() -> Vec<u8> {
    store_support::noise(8 * 1024)
}

fn small() -> Vec<u8> {
    b"fits in a cookie".to_vec()
}

/// The checks while the server is down (or frozen).
async fn store_fails_cookies_work(
    manager: &SessionManager,
    stored: &HeaderMap,
    inline: &HeaderMap,
) {
    assert_store_error(
        "load of a stored session",
        timed("load of a stored session", manager.load::<Vec<u8>>(stored)).await,
    );
    assert_store_error(
        "save of a new large session",
        timed("save of a new large session", new_session(manager, big())).await,
    );

    let mut session = timed("load of a cookie session", manager.load::<Vec<u8>>(inline))
        .await
        .unwrap();
    assert_eq!(session.location(), Location::Cookie);
    assert_eq!(session.data().as_slice(), small().as_slice());
    session.data_mut().extend_from_slice(b", still");
    let mut response = HeaderMap::new();
    let saved = timed(
        "save of a cookie session",
        manager.save(&mut session, &mut response),
    )
    .await
    .unwrap();
    assert!(matches!(saved, Saved::Cookie { .. }), "{saved:?}");
    let (_, saved) = timed("save of a new small session", new_session(manager, small()))
        .await
        .unwrap();
    assert!(matches!(saved, Saved::Cookie { .. }), "{saved:?}");
}

/// Retries a large save until the restarted server takes it, then checks a
/// full round trip through the same manager. Returns the stored session's
/// request headers.
async fn recovers(manager: &SessionManager) -> HeaderMap {
    let start = Instant::now();
    let mut attempts = 0;
    let (request, saved) = loop {
        attempts += 1;
        match timed("save after restart", new_session(manager, big())).await {
            Ok(done) => break done,
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Store, "{e:?}");
                assert!(
                    start.elapsed() < RECOVERY,
                    "no recovery within {RECOVERY:?}: {e:?}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    eprintln!(
        "recovered after {attempts} attempt(s), {:?} after the restart",
        start.elapsed()
    );
    assert!(matches!(saved, Saved::Store { .. }), "{saved:?}");
    let session = manager.load::<Vec<u8>>(&request).await.unwrap();
    assert_eq!(session.location(), Location::Store);
    assert_eq!(session.data().len(), big().len());
    request
}

// ---------------------------------------------------------------- Redis --

/// A redis-server this test owns; killed on drop.
struct RedisServer {
    bin: String,
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl RedisServer {
    /// A server that is not running yet; [`RedisServer::restart`] starts it.
    fn stopped() -> Self {
        Self {
            bin: store_support::server_url("REDIS_SERVER_BIN"),
            port: free_port(),
            dir: tempfile::tempdir().unwrap(),
            child: None,
        }
    }

    fn start() -> Self {
        let mut server = Self::stopped();
        server.restart();
        server
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn restart(&mut self) {
        let child = Command::new(&self.bin)
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        wait_for_port(self.port, true);
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
        wait_for_port(self.port, false);
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().unwrap().id().to_string();
        let status = Command::new("kill").args([signal, &pid]).status().unwrap();
        assert!(status.success());
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

async fn redis_manager(server: &RedisServer) -> SessionManager {
    let store = sealed_session::store::RedisStore::builder(server.url())
        .timeout(STORE_TIMEOUT)
        .connect()
        .await
        .unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    store_support::manager(store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs REDIS_SERVER_BIN"]
async fn redis_killed_and_restarted() {
    let mut server = RedisServer::start();
    let manager = redis_manager(&server).await;
    let (stored, saved) = new_session(&manager, big()).await.unwrap();
    assert!(matches!(saved, Saved::Store { .. }), "{saved:?}");
    let (inline, _) = new_session(&manager, small()).await.unwrap();

    server.kill();
    store_fails_cookies_work(&manager, &stored, &inline).await;
    // A second round: the reconnect attempts in the background must not
    // turn later failures into hangs either.
    store_fails_cookies_work(&manager, &stored, &inline).await;

    server.restart();
    recovers(&manager).await;
    // The restarted server kept no data (no persistence): the old pointer
    // gives a fresh session and says why, not an error.
    let session = manager.load::<Vec<u8>>(&stored).await.unwrap();
    assert!(session.is_new());
    assert_eq!(session.fresh_reason(), Some(FreshReason::MissingFromStore));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs REDIS_SERVER_BIN"]
async fn redis_frozen_is_bounded_by_the_timeout() {
    let server = RedisServer::start();
    let manager = redis_manager(&server).await;
    let (stored, _) = new_session(&manager, big()).await.unwrap();
    let (inline, _) = new_session(&manager, small()).await.unwrap();

    // SIGSTOP: the socket stays open and nothing answers, the case a
    // timeout exists for.
    server.signal("-STOP");
    let start = Instant::now();
    store_fails_cookies_work(&manager, &stored, &inline).await;
    assert!(start.elapsed() >= STORE_TIMEOUT, "failed by timing out");

    server.signal("-CONT");
    let request = recovers(&manager).await;
    let session = manager.load::<Vec<u8>>(&request).await.unwrap();
    assert_eq!(session.location(), Location::Store);
    // Nothing was lost while frozen.
    let session = manager.load::<Vec<u8>>(&stored).await.unwrap();
    assert_eq!(session.location(), Location::Store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs REDIS_SERVER_BIN"]
async fn redis_store_built_while_down_connects_later() {
    let mut server = RedisServer::stopped();
    // `build` does not connect, so an application can start while Redis is
    // down.
    let store = sealed_session::store::RedisStore::builder(server.url())
        .timeout(STORE_TIMEOUT)
        .build()
        .unwrap();
    let manager = store_support::manager(Arc::new(store));
    let (_, saved) = new_session(&manager, small()).await.unwrap();
    assert!(matches!(saved, Saved::Cookie { .. }), "{saved:?}");
    assert_store_error(
        "save before the server ever started",
        timed(
            "save before the server ever started",
            new_session(&manager, big()),
        )
        .await,
    );

    server.restart();
    recovers(&manager).await;
}

// ----------------------------------------------------------- PostgreSQL --

/// A PostgreSQL cluster this test owns, in a temporary directory; stopped
/// on drop.
struct PgCluster {
    bin: PathBuf,
    port: u16,
    dir: tempfile::TempDir,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// `bin` with `args`, as the postgres user when we are root.
fn as_postgres(bin: &Path, args: &[&str]) -> Command {
    let mut cmd = if is_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(bin);
        cmd
    } else {
        Command::new(bin)
    };
    cmd.args(args).stdout(Stdio::null()).stderr(Stdio::null());
    cmd
}

impl PgCluster {
    fn start() -> Self {
        let bin = PathBuf::from(store_support::server_url("PG_BIN_DIR"));
        let dir = tempfile::tempdir().unwrap();
        if is_root() {
            let ok = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap()
                .success();
            assert!(ok, "chown of the cluster directory");
        }
        let data = dir.path().join("data");
        let ok = as_postgres(
            &bin.join("initdb"),
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
            ],
        )
        .status()
        .unwrap()
        .success();
        assert!(ok, "initdb");
        let cluster = Self {
            bin,
            port: free_port(),
            dir,
        };
        cluster.pg_ctl_start();
        cluster
    }

    fn data(&self) -> String {
        self.dir.path().join("data").to_str().unwrap().to_owned()
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn pg_ctl_start(&self) {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("postgres.log");
        let ok = as_postgres(
            &self.bin.join("pg_ctl"),
            &[
                "-D",
                &self.data(),
                "-l",
                log.to_str().unwrap(),
                "-o",
                &options,
                "-w",
                "start",
            ],
        )
        .status()
        .unwrap()
        .success();
        assert!(ok, "pg_ctl start");
        wait_for_port(self.port, true);
    }

    fn stop_immediately(&self) {
        let ok = as_postgres(
            &self.bin.join("pg_ctl"),
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        )
        .status()
        .unwrap()
        .success();
        assert!(ok, "pg_ctl stop");
        wait_for_port(self.port, false);
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = as_postgres(
            &self.bin.join("pg_ctl"),
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        )
        .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PG_BIN_DIR"]
async fn postgres_stopped_and_restarted() {
    let cluster = PgCluster::start();
    let store = sealed_session::store::PostgresStore::connect(&cluster.url())
        .await
        .unwrap()
        .with_timeout(STORE_TIMEOUT);
    store.migrate().await.unwrap();
    let manager = store_support::manager(Arc::new(store));
    let (stored, saved) = new_session(&manager, big()).await.unwrap();
    assert!(matches!(saved, Saved::Store { .. }), "{saved:?}");
    let (inline, _) = new_session(&manager, small()).await.unwrap();

    cluster.stop_immediately();
    store_fails_cookies_work(&manager, &stored, &inline).await;
    store_fails_cookies_work(&manager, &stored, &inline).await;

    cluster.pg_ctl_start();
    recovers(&manager).await;
    // PostgreSQL recovered its WAL: the session stored before the crash is
    // still there.
    let session = manager.load::<Vec<u8>>(&stored).await.unwrap();
    assert_eq!(session.location(), Location::Store);
    assert_eq!(session.data().len(), big().len());
}

/// A shared registry on `backend` refreshing every 200 ms, stale after 2 s.
async fn revocation_registry(
    backend: impl sealed_session::revocation::RevocationBackend + 'static,
) -> sealed_session::revocation::Registry {
    sealed_session::revocation::Registry::shared(backend)
        .refresh_interval(Duration::from_millis(200))
        .staleness_bound(REVOCATION_BOUND)
        .start()
        .await
        .unwrap()
}

const REVOCATION_BOUND: Duration = Duration::from_secs(2);

/// Two servers' registries `a` and `b` on one revocation backend, through
/// an outage of that backend (`kill`, then `restart`): while it is down
/// every server keeps refusing what it knew, goes stale within the bound
/// and applies its policy, and nothing panics; a revocation made during
/// the outage waits in its server's queue and reaches the other server once
/// the backend is back, even when the backend lost everything (Redis
/// without persistence).
async fn revocations_survive_an_outage(
    a: sealed_session::revocation::Registry,
    b: sealed_session::revocation::Registry,
    kill: impl FnOnce(),
    restart: impl FnOnce(),
) {
    use sealed_session::SessionId;
    use sealed_session::revocation::Status;
    use std::time::SystemTime;

    let id = SessionId::generate();
    let issued = SystemTime::now() - Duration::from_secs(30);
    let absolute = Duration::from_secs(3600);
    a.revoke_subject("user:before", SystemTime::now(), absolute);
    timed("flush before the outage", a.flush()).await.unwrap();
    timed("refresh before the outage", b.flush()).await.unwrap();
    let check = |r: &sealed_session::revocation::Registry, subject| {
        r.check(id, Some(subject), issued, SystemTime::now())
    };
    assert_eq!(check(&b, "user:before"), Status::Revoked);

    kill();
    let down = Instant::now();
    a.revoke_subject("user:during", SystemTime::now(), absolute);
    let flushed = timed("flush during the outage", a.flush()).await;
    assert!(flushed.is_err(), "the backend is down");
    assert_eq!(a.health().pending, 1, "kept for later");
    while !b.health().stale {
        assert!(down.elapsed() < NO_HANG, "never went stale");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let went_stale = down.elapsed();
    assert!(
        went_stale <= REVOCATION_BOUND + Duration::from_secs(1),
        "{went_stale:?}"
    );
    // What b knew holds; a fresh login of the subject signed out before
    // the outage is refused while b cannot check; other subjects are served.
    assert_eq!(check(&b, "user:before"), Status::Revoked);
    let fresh = b.check(
        id,
        Some("user:before"),
        SystemTime::now(),
        SystemTime::now(),
    );
    assert_eq!(fresh, Status::Unverified);
    assert_eq!(check(&b, "user:other"), Status::Live);

    restart();
    let back = Instant::now();
    loop {
        let healthy = a.health().pending == 0 && !b.health().stale;
        if healthy && check(&b, "user:during") == Status::Revoked {
            break;
        }
        assert!(
            back.elapsed() < RECOVERY,
            "the outage's revocation never arrived"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "went stale after {went_stale:?}; after the restart, the outage's revocation reached the other server in {:?}",
        back.elapsed()
    );
    assert_eq!(
        check(&b, "user:before"),
        Status::Revoked,
        "and what came before"
    );
    assert_eq!(check(&a, "user:during"), Status::Revoked);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs REDIS_SERVER_BIN"]
async fn redis_revocation_backend_killed_and_restarted_empty() {
    let mut server = RedisServer::start();
    let connect = async |url: String| {
        let store = sealed_session::store::RedisStore::builder(url)
            .timeout(STORE_TIMEOUT)
            .connect()
            .await
            .unwrap();
        sealed_session::store::RedisRevocations::new(&store)
    };
    let a = revocation_registry(connect(server.url()).await).await;
    let b = revocation_registry(connect(server.url()).await).await;
    let server = std::sync::Mutex::new(&mut server);
    revocations_survive_an_outage(
        a,
        b,
        || server.lock().unwrap().kill(),
        // No persistence: Redis comes back empty.
        || server.lock().unwrap().restart(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PG_BIN_DIR"]
async fn postgres_revocation_backend_stopped_and_restarted() {
    let cluster = PgCluster::start();
    let connect = async |url: String| {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .acquire_timeout(STORE_TIMEOUT)
            .connect(&url)
            .await
            .unwrap();
        sealed_session::store::PostgresRevocations::new(pool)
    };
    let backend = connect(cluster.url()).await;
    backend.migrate().await.unwrap();
    let a = revocation_registry(backend).await;
    let b = revocation_registry(connect(cluster.url()).await).await;
    revocations_survive_an_outage(
        a,
        b,
        || cluster.stop_immediately(),
        || cluster.pg_ctl_start(),
    )
    .await;
}

// -------------------------------------------------------------- MariaDB --

/// A MariaDB server this test owns, in a temporary directory; killed on
/// drop.
#[cfg(feature = "sqlx-mysql")]
struct MariaDb {
    bin: String,
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

#[cfg(feature = "sqlx-mysql")]
impl MariaDb {
    /// Initializes a data directory and starts the server; a passwordless
    /// `sealed`@127.0.0.1 may do anything.
    async fn start() -> Self {
        let install_db = store_support::server_url("MARIADB_INSTALL_DB_BIN");
        let dir = tempfile::tempdir().unwrap();
        if is_root() {
            let ok = Command::new("chown")
                .args(["mysql:mysql"])
                .arg(dir.path())
                .status()
                .unwrap()
                .success();
            assert!(ok, "chown of the data directory");
        }
        let mut install = Command::new(install_db);
        install
            .arg("--no-defaults")
            .args(Self::user())
            .arg(format!("--datadir={}", dir.path().join("data").display()))
            .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        assert!(install.status().unwrap().success(), "mariadb-install-db");
        let mut server = Self {
            bin: store_support::server_url("MARIADBD_BIN"),
            port: free_port(),
            dir,
            child: None,
        };
        server.restart();
        // root may connect through the socket only; make a TCP user there.
        let socket = format!(
            "mysql://root@localhost/mysql?socket={}",
            server.dir.path().join("mysqld.sock").display()
        );
        let pool = sqlx::MySqlPool::connect(&socket).await.unwrap();
        for sql in [
            "CREATE DATABASE sealed_session",
            "CREATE USER 'sealed'@'127.0.0.1'",
            "GRANT ALL ON *.* TO 'sealed'@'127.0.0.1'",
        ] {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        pool.close().await;
        server
    }

    fn user() -> Vec<&'static str> {
        if is_root() {
            vec!["--user=mysql"]
        } else {
            Vec::new()
        }
    }

    fn url(&self) -> String {
        format!("mysql://sealed@127.0.0.1:{}/sealed_session", self.port)
    }

    fn restart(&mut self) {
        let dir = self.dir.path();
        let child = Command::new(&self.bin)
            .arg("--no-defaults")
            .args(Self::user())
            .arg(format!("--datadir={}", dir.join("data").display()))
            .args(["--bind-address=127.0.0.1", &format!("--port={}", self.port)])
            .arg(format!("--socket={}", dir.join("mysqld.sock").display()))
            .arg(format!("--log-error={}", dir.join("error.log").display()))
            .args(["--skip-log-bin", "--innodb-buffer-pool-size=32M"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mariadbd starts");
        self.child = Some(child);
        wait_for_port(self.port, true);
    }

    /// SIGKILL: no clean shutdown, InnoDB recovers from its log on restart.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
        wait_for_port(self.port, false);
    }
}

#[cfg(feature = "sqlx-mysql")]
impl Drop for MariaDb {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[cfg(feature = "sqlx-mysql")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs MARIADBD_BIN and MARIADB_INSTALL_DB_BIN: see scripts/services.sh"]
async fn mariadb_killed_and_restarted() {
    let mut server = MariaDb::start().await;
    let store = sealed_session::store::MySqlStore::connect(&server.url())
        .await
        .unwrap()
        .with_timeout(STORE_TIMEOUT);
    store.migrate().await.unwrap();
    let manager = store_support::manager(Arc::new(store));
    let (stored, saved) = new_session(&manager, big()).await.unwrap();
    assert!(matches!(saved, Saved::Store { .. }), "{saved:?}");
    let (inline, _) = new_session(&manager, small()).await.unwrap();

    server.kill();
    store_fails_cookies_work(&manager, &stored, &inline).await;
    store_fails_cookies_work(&manager, &stored, &inline).await;

    server.restart();
    recovers(&manager).await;
    // InnoDB recovered from its log: the session stored before the kill is
    // still there.
    let session = manager.load::<Vec<u8>>(&stored).await.unwrap();
    assert_eq!(session.location(), Location::Store);
    assert_eq!(session.data().len(), big().len());
}
