//! HAProxy on loopback in front of several `portcullis serve` nodes: the several-nodes test
//! (issue 19) and the two-node benchmark (issue 18) put the same load balancer in front.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

/// HAProxy on loopback in front of several nodes (issue 19, item 4): round robin a request at
/// a time, at most 128 at once on a node (the rest wait in HAProxy's queue), each node
/// health-checked on `/healthz` every 500 ms and taken out of the rotation after three
/// failed checks, a connection a node refuses retried on another. The test script
/// installs HAProxy; a test that needs it fails without it.
pub struct LoadBalancer {
    /// The port it listens on.
    pub port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl LoadBalancer {
    /// Starts HAProxy on `port` (chosen beforehand, since the nodes answer for its URL) in
    /// front of the nodes listening on `nodes`, and waits until it listens.
    pub async fn start(port: u16, nodes: &[u16]) -> LoadBalancer {
        let dir = tempfile::tempdir().expect("temp dir");
        let servers: String = nodes
            .iter()
            .enumerate()
            .map(|(i, p)| format!("    server node{i} 127.0.0.1:{p}\n"))
            .collect();
        // One thread: on the benchmark's two cores HAProxy shares them with two nodes,
        // PostgreSQL and the load generator; a second thread only added hand-offs (the A/B is
        // in BENCHMARKS.md, 2026-12-01 late night).
        let cfg = format!(
            "global\n    maxconn 8192\n    nbthread 1\n\
             defaults\n    mode http\n    maxconn 8192\n    timeout connect 2s\n    timeout client 60s\n    timeout server 60s\n    timeout queue 60s\n    timeout check 5s\n    retries 3\n    option redispatch\n\
             frontend portcullis\n    bind 127.0.0.1:{port}\n    default_backend nodes\n\
             backend nodes\n    balance roundrobin\n    option httpchk\n    http-check send meth GET uri /healthz\n    default-server check inter 500ms fall 3 rise 2 maxconn 128\n{servers}"
        );
        let file = dir.path().join("haproxy.cfg");
        std::fs::write(&file, cfg).expect("write haproxy.cfg");
        // Debian puts it in /usr/sbin, which a non-root PATH may lack.
        let bin = ["/usr/sbin/haproxy", "/usr/local/sbin/haproxy"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .unwrap_or("haproxy");
        let child = Command::new(bin)
            .arg("-db")
            .arg("-f")
            .arg(&file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start HAProxy ({e}): run the suite with scripts/test.sh, which installs it")
            });
        let started = std::time::Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "HAProxy did not listen on {port}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Both nodes in the rotation (two good checks each).
        tokio::time::sleep(Duration::from_millis(1100)).await;
        LoadBalancer {
            port,
            child,
            _dir: dir,
        }
    }

    /// Its process id (for the CPU it used).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// A URL through the load balancer.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Stops it.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}
