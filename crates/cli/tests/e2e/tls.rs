//! HTTPS built in (issue 19, item 5; R60), checked with a real client: curl, verifying the
//! server against a test CA. A SIGHUP swaps in a renewed certificate (from another CA) for
//! new connections; a broken one keeps the certificate in use; plain HTTP on the redirect
//! port is sent to the public URL and never to another origin.

use super::*;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

/// A CA and a server certificate it issued for localhost and 127.0.0.1, written as
/// `<name>-ca.pem`, `<name>-cert.pem` and `<name>-key.pem`.
fn issue(dir: &Path, name: &str) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name
        .push(DnType::CommonName, format!("Portcullis test CA {name}"));
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut leaf =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    let cert = leaf.signed_by(&key, &ca_cert, &ca_key).unwrap();
    std::fs::write(dir.join(format!("{name}-ca.pem")), ca_cert.pem()).unwrap();
    std::fs::write(dir.join(format!("{name}-cert.pem")), cert.pem()).unwrap();
    std::fs::write(dir.join(format!("{name}-key.pem")), key.serialize_pem()).unwrap();
}

/// curl's answer: (exit status, HTTP status or 0, headers).
fn curl(ca: Option<&Path>, url: &str) -> (i32, u16, String) {
    let mut c = std::process::Command::new("curl");
    c.args([
        "-sS",
        "-o",
        "/dev/null",
        "-D",
        "-",
        "-w",
        "%{http_code}",
        "--max-time",
        "10",
    ]);
    if let Some(ca) = ca {
        c.arg("--cacert").arg(ca);
    }
    let out = c
        .arg(url)
        .output()
        .expect("curl is installed (scripts/test.sh installs it)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let code = text
        .rsplit('\n')
        .next()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0);
    (out.status.code().unwrap_or(-1), code, text)
}

#[tokio::test]
async fn https_is_served_with_the_configured_certificate_and_reloaded_on_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    issue(d, "one");
    issue(d, "two");
    std::fs::copy(d.join("one-cert.pem"), d.join("cert.pem")).unwrap();
    std::fs::copy(d.join("one-key.pem"), d.join("key.pem")).unwrap();
    let (port, plain) = (support::free_port(), support::free_port());
    let config = d.join("portcullis.toml");
    std::fs::write(
        &config,
        format!(
            "[tls]\ncert_file = {:?}\nkey_file = {:?}\nredirect_http_from = \"127.0.0.1:{plain}\"\n",
            d.join("cert.pem"),
            d.join("key.pem")
        ),
    )
    .unwrap();
    let log = d.join("serve.log");
    let mut child = tokio::process::Command::new(support::bin())
        .args(["serve", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(d)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--public-url", &format!("https://localhost:{port}")])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let listening = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(l) = lines.next_line().await.unwrap() {
            if l.starts_with("Listening on") {
                return l;
            }
        }
        String::new()
    })
    .await
    .unwrap();
    assert_eq!(listening, format!("Listening on https://127.0.0.1:{port}"));
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let url = format!("https://localhost:{port}/healthz");

    // The configured certificate, verified against its CA by curl.
    let (st, code, _) = curl(Some(&d.join("one-ca.pem")), &url);
    assert_eq!((st, code), (0, 200), "HTTPS with the first CA");
    // Without the CA, curl refuses the certificate (60: peer certificate cannot be authenticated).
    let (st, _, _) = curl(None, &url);
    assert_eq!(st, 60, "an unknown CA is not trusted");
    // Plain HTTP to the TLS port gets no HTTP answer.
    let (_, code, _) = curl(None, &format!("http://127.0.0.1:{port}/healthz"));
    assert_eq!(code, 0, "no plain HTTP on the TLS port");

    // The redirect port sends plain HTTP to the same path under the public URL, and a path
    // that looks like a URL stays a path.
    let (_, code, headers) = curl(None, &format!("http://127.0.0.1:{plain}/signin?x=1"));
    assert_eq!(code, 308, "{headers}");
    assert!(
        headers.contains(&format!("location: https://localhost:{port}/signin?x=1")),
        "{headers}"
    );
    // `//evil.example/x` joined to the public URL would be another origin (and `http:…`
    // too, for an https public URL): both stay paths on ours.
    for path in ["//evil.example/x", "/http:evil.example/x"] {
        let (_, code, headers) = curl(None, &format!("http://127.0.0.1:{plain}{path}"));
        assert_eq!(code, 308, "{headers}");
        let location = headers
            .lines()
            .find_map(|l| l.strip_prefix("location: "))
            .unwrap_or_default()
            .trim();
        assert_eq!(
            url::Url::parse(location)
                .unwrap()
                .origin()
                .ascii_serialization(),
            format!("https://localhost:{port}"),
            "{path} → {location}"
        );
    }

    // Renewed (by another CA) and SIGHUP: new connections get the new certificate.
    let pid = child.id().unwrap().to_string();
    std::fs::copy(d.join("two-cert.pem"), d.join("cert.pem")).unwrap();
    std::fs::copy(d.join("two-key.pem"), d.join("key.pem")).unwrap();
    assert!(std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    let mut renewed = false;
    for _ in 0..50 {
        if curl(Some(&d.join("two-ca.pem")), &url).1 == 200 {
            renewed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(renewed, "the renewed certificate is served after SIGHUP");
    assert_eq!(
        curl(Some(&d.join("one-ca.pem")), &url).0,
        60,
        "the old one is gone"
    );

    // A broken key on the next SIGHUP: logged, and the certificate in use stays.
    std::fs::write(d.join("key.pem"), "not a key").unwrap();
    assert!(std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    let mut logged = false;
    for _ in 0..50 {
        if std::fs::read_to_string(&log)
            .unwrap()
            .contains("could not be reloaded")
        {
            logged = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        logged,
        "a failed reload is logged: {}",
        std::fs::read_to_string(&log).unwrap()
    );
    assert_eq!(
        curl(Some(&d.join("two-ca.pem")), &url).1,
        200,
        "still served"
    );
    child.kill().await.unwrap();

    // A certificate that cannot be read stops serve at once, naming the file.
    let missing = d.join("missing.toml");
    std::fs::write(
        &missing,
        format!(
            "[tls]\ncert_file = {:?}\nkey_file = {:?}\n",
            d.join("nowhere.pem"),
            d.join("key.pem")
        ),
    )
    .unwrap();
    let out = std::process::Command::new(support::bin())
        .args(["serve", "--config"])
        .arg(&missing)
        .arg("--data-dir")
        .arg(d)
        .args(["--listen", &format!("127.0.0.1:{}", support::free_port())])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nowhere.pem"), "{err}");
}
