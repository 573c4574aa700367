//! libpq's TLS parameters in a `postgres://` URL (`sslmode`, `sslrootcert`, `sslcert`, `sslkey`),
//! read once at start: libpq applies them to the pool's connections itself; this module applies
//! the same ones, the same way, to the connection libpq does not make (the event listener), so
//! both connections a replica opens are equally protected.
//!
//! `sslrootcert=system` means the machine's CA store. OpenSSL is built into roombook (so a fresh
//! machine needs nothing installed) and does not know where a distribution keeps that store, so
//! roombook finds it (`openssl-probe`) and hands libpq its path; as in libpq, `system` allows only
//! `verify-full`.

use std::path::{Path, PathBuf};

use openssl::ssl::{SslConnector, SslFiletype, SslMethod, SslVerifyMode};
use postgres_openssl::MakeTlsConnector;

/// libpq's `sslmode`, weakest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl Mode {
    fn parse(value: &str) -> Result<Mode, String> {
        Ok(match value {
            "disable" => Mode::Disable,
            // libpq's `allow` tries without TLS first; the listener follows `prefer` instead.
            "allow" | "prefer" => Mode::Prefer,
            "require" => Mode::Require,
            "verify-ca" => Mode::VerifyCa,
            "verify-full" => Mode::VerifyFull,
            other => {
                return Err(format!(
                "sslmode {} is not one of disable, allow, prefer, require, verify-ca, verify-full",
                crate::error::quoted(other)
            ))
            }
        })
    }
}

/// A PostgreSQL URL with its TLS parameters read.
#[derive(Debug)]
pub struct PgTarget {
    /// The URL libpq gets (`sslrootcert=system` replaced by the store's file).
    libpq_url: String,
    /// The URL without the TLS parameters, which tokio-postgres does not know.
    listener_url: String,
    mode: Mode,
    root_cert: Option<PathBuf>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
}

impl PgTarget {
    /// Reads `url`'s TLS parameters; refuses what libpq would refuse at connect time
    /// (an unknown `sslmode`, `system` with a weaker mode), before anything connects.
    pub fn parse(url: &str) -> Result<PgTarget, String> {
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut kept = Vec::new();
        let (mut mode, mut root, mut cert, mut key) = (None, None, None, None);
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_encoding::percent_decode_str(v)
                .decode_utf8()
                .map_err(|_| format!("the database URL's {k} is not UTF-8"))?
                .into_owned();
            match k {
                "sslmode" => mode = Some(Mode::parse(&value)?),
                "sslrootcert" => root = Some(value),
                "sslcert" => cert = Some(PathBuf::from(value)),
                "sslkey" => key = Some(PathBuf::from(value)),
                _ => kept.push(pair),
            }
        }
        let system = root.as_deref() == Some("system");
        let mode =
            match mode {
                // libpq: sslrootcert=system makes verify-full the default, and the only mode allowed.
                None if system => Mode::VerifyFull,
                Some(m) if system && m != Mode::VerifyFull => return Err(
                    "sslrootcert=system needs sslmode=verify-full (as in libpq): a weaker mode \
                     would accept any server"
                        .into(),
                ),
                None => Mode::Prefer,
                Some(m) => m,
            };
        let root_cert = if system {
            Some(system_store()?)
        } else {
            root.map(PathBuf::from)
                .or_else(|| home_file("root.crt").filter(|p| p.exists()))
        };
        if matches!(mode, Mode::VerifyCa | Mode::VerifyFull) && root_cert.is_none() {
            return Err(format!(
                "sslmode={} needs sslrootcert=FILE (the CA that signed the server's certificate) \
                 or sslrootcert=system",
                if mode == Mode::VerifyCa {
                    "verify-ca"
                } else {
                    "verify-full"
                }
            ));
        }
        // libpq's defaults: ~/.postgresql/postgresql.crt and .key, when they exist.
        let cert = cert.or_else(|| home_file("postgresql.crt").filter(|p| p.exists()));
        let key = key.or_else(|| home_file("postgresql.key").filter(|p| p.exists()));
        let listener_url = join(base, &kept);
        let libpq_url = if system {
            let store = root_cert
                .as_deref()
                .map(Path::to_string_lossy)
                .unwrap_or_default();
            let encoded: String =
                percent_encoding::utf8_percent_encode(&store, percent_encoding::NON_ALPHANUMERIC)
                    .collect();
            let mut pairs: Vec<String> = query
                .split('&')
                .filter(|p| !p.is_empty() && !p.starts_with("sslrootcert="))
                .map(str::to_owned)
                .collect();
            pairs.push(format!("sslrootcert={encoded}"));
            if !pairs.iter().any(|p| p.starts_with("sslmode=")) {
                pairs.push("sslmode=verify-full".into());
            }
            format!("{base}?{}", pairs.join("&"))
        } else {
            url.to_owned()
        };
        Ok(PgTarget {
            libpq_url,
            listener_url,
            mode,
            root_cert,
            cert,
            key,
        })
    }

    pub fn libpq_url(&self) -> &str {
        &self.libpq_url
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The listener's configuration and TLS connector, verifying as libpq does: `verify-ca`
    /// the chain, `verify-full` the chain and the host name, `require` the chain only when a
    /// root certificate is there (libpq's rule), `prefer` nothing.
    pub fn listener(&self) -> Result<(tokio_postgres::Config, MakeTlsConnector), String> {
        let mut config = self
            .listener_url
            .parse::<tokio_postgres::Config>()
            .map_err(|e| format!("the database URL does not parse for the event listener: {e}"))?;
        config.ssl_mode(match self.mode {
            Mode::Disable => tokio_postgres::config::SslMode::Disable,
            Mode::Prefer => tokio_postgres::config::SslMode::Prefer,
            _ => tokio_postgres::config::SslMode::Require,
        });
        let tls_error = |what: &str, e: openssl::error::ErrorStack| format!("{what}: {e}");
        let mut builder = SslConnector::builder(SslMethod::tls_client())
            .map_err(|e| tls_error("cannot set up TLS", e))?;
        let verify = match self.mode {
            Mode::VerifyCa | Mode::VerifyFull => true,
            Mode::Require => self.root_cert.is_some(),
            Mode::Disable | Mode::Prefer => false,
        };
        if verify {
            let root = self.root_cert.as_deref().unwrap_or(Path::new(""));
            builder.set_ca_file(root).map_err(|e| {
                tls_error(&format!("cannot read sslrootcert {}", root.display()), e)
            })?;
            builder.set_verify(SslVerifyMode::PEER);
        } else {
            builder.set_verify(SslVerifyMode::NONE);
        }
        if let Some(cert) = &self.cert {
            builder
                .set_certificate_chain_file(cert)
                .map_err(|e| tls_error(&format!("cannot read sslcert {}", cert.display()), e))?;
            let key = self
                .key
                .clone()
                .ok_or("sslcert needs sslkey (the client certificate's private key)")?;
            builder
                .set_private_key_file(&key, SslFiletype::PEM)
                .map_err(|e| tls_error(&format!("cannot read sslkey {}", key.display()), e))?;
        }
        let mut connector = MakeTlsConnector::new(builder.build());
        let host_name = self.mode == Mode::VerifyFull;
        connector.set_callback(move |connect, _| {
            connect.set_verify_hostname(host_name);
            Ok(())
        });
        Ok((config, connector))
    }
}

fn join(base: &str, pairs: &[&str]) -> String {
    if pairs.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", pairs.join("&"))
    }
}

fn home_file(name: &str) -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| Path::new(&h).join(".postgresql").join(name))
}

/// The machine's CA bundle (`SSL_CERT_FILE` first, as OpenSSL does, then where the distribution
/// keeps it).
fn system_store() -> Result<PathBuf, String> {
    openssl_probe::probe()
        .cert_file
        .filter(|f| f.exists())
        .ok_or_else(|| {
            "sslrootcert=system: no CA store found on this machine (set SSL_CERT_FILE to one)"
                .into()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_parameters_are_read_and_left_out_of_the_listener_url() {
        let t = PgTarget::parse(
            "postgres://u:p@db:5432/x?application_name=a&sslmode=require&sslcert=%2Ftmp%2Fc.pem&sslkey=/tmp/k.pem",
        )
        .unwrap();
        assert_eq!(t.mode, Mode::Require);
        assert_eq!(t.cert.as_deref(), Some(Path::new("/tmp/c.pem")));
        assert_eq!(t.key.as_deref(), Some(Path::new("/tmp/k.pem")));
        assert_eq!(
            t.listener_url,
            "postgres://u:p@db:5432/x?application_name=a"
        );
        assert!(t.libpq_url.contains("sslmode=require"));
        assert!(t.listener_url.parse::<tokio_postgres::Config>().is_ok());
    }

    #[test]
    fn what_libpq_refuses_is_refused_before_connecting() {
        for (url, says) in [
            ("postgres://h/x?sslmode=verify", "is not one of"),
            ("postgres://h/x?sslmode=verify-full", "needs sslrootcert"),
            (
                "postgres://h/x?sslrootcert=system&sslmode=require",
                "needs sslmode=verify-full",
            ),
        ] {
            let e = PgTarget::parse(url).unwrap_err();
            assert!(e.contains(says), "{url}: {e}");
        }
    }

    #[test]
    fn no_tls_parameters_means_prefer_as_in_libpq() {
        let t = PgTarget::parse("postgres://h/x").unwrap();
        assert_eq!(t.mode, Mode::Prefer);
        assert_eq!(t.libpq_url, "postgres://h/x");
    }
}
