//! Secrets: redaction, providers, file permissions, error messages without values.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use pearlbridge_capabilities::secrets::{
    EnvSecrets, FileSecrets, Secret, SecretError, SecretProvider, Secrets,
};

const VALUE: &str = "s3cr3t-VALUE-9f8e7d";

fn write_file(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

#[test]
fn secret_is_redacted_everywhere_but_expose() {
    let s = Secret::new(VALUE);
    assert_eq!(format!("{s}"), "[redacted]");
    assert_eq!(format!("{s:?}"), "[redacted]");
    assert_eq!(format!("{s:#?}"), "[redacted]");
    assert_eq!(s.to_string(), "[redacted]");
    assert_eq!(s.expose(), VALUE);
    assert_eq!(s.clone().expose(), VALUE);

    #[derive(Debug)]
    #[allow(dead_code)]
    struct Connection {
        account: String,
        token: Secret,
        tokens: Vec<Option<Secret>>,
    }
    let c = Connection {
        account: "acme".into(),
        token: s.clone(),
        tokens: vec![Some(s.clone()), None],
    };
    let debug = format!("{c:?}");
    assert_eq!(
        debug,
        r#"Connection { account: "acme", token: [redacted], tokens: [Some([redacted]), None] }"#
    );
    assert!(!format!("{c:#?}").contains(VALUE));
}

#[test]
fn env_var_names() {
    assert_eq!(
        EnvSecrets::var_name("acme_bc_token"),
        "PEARLBRIDGE_SECRET_ACME_BC_TOKEN"
    );
    assert_eq!(
        EnvSecrets::var_name("acme-bp.token"),
        "PEARLBRIDGE_SECRET_ACME_BP_TOKEN"
    );
    assert_eq!(EnvSecrets::var_name("Zz9"), "PEARLBRIDGE_SECRET_ZZ9");
}

/// The only test that touches the process environment (tests run on several threads).
#[test]
fn env_provider_and_chain() {
    // SAFETY: no other test in this binary reads or writes the environment.
    unsafe {
        std::env::set_var("PEARLBRIDGE_SECRET_TEST_ENV_ONLY", VALUE);
        std::env::set_var("PEARLBRIDGE_SECRET_TEST_EMPTY", "");
        std::env::set_var("PEARLBRIDGE_SECRET_TEST_BOTH", "from-env");
        std::env::remove_var("PEARLBRIDGE_SECRET_TEST_NOWHERE");
    }
    let env = EnvSecrets;
    assert_eq!(env.get("test_env_only").unwrap().unwrap().expose(), VALUE);
    assert!(env.get("test_nowhere").unwrap().is_none());
    let empty = env.get("test_empty").unwrap_err();
    assert_eq!(
        empty.to_string(),
        r#"secret "test_empty" in environment variable PEARLBRIDGE_SECRET_TEST_EMPTY: is set but empty"#
    );

    let dir = tempfile::tempdir().unwrap();
    let file = write_file(
        dir.path(),
        "secrets.toml",
        "test_both = \"from-file\"\ntest_file_only = \"from-the-file\"\ntest_short = \"abc1234\"\n",
        0o600,
    );
    let mut secrets = Secrets::default();
    secrets
        .push(EnvSecrets)
        .push(FileSecrets::open(&file).unwrap());
    assert_eq!(secrets.resolve("test_both").unwrap().expose(), "from-env");
    assert_eq!(
        secrets.resolve("test_file_only").unwrap().expose(),
        "from-the-file"
    );
    // Too short to be scrubbed from texts without mangling them: refused, length named,
    // value not.
    let short = secrets.resolve("test_short").unwrap_err();
    assert_eq!(
        short.to_string(),
        format!(
            "secret \"test_short\" in file {}: is 7 characters long; a credential needs at least 8 so that it can be told apart from ordinary text and scrubbed from it",
            file.display()
        )
    );
    assert!(!short.to_string().contains("abc1234"));
    assert_eq!(secrets.resolve("test_env_only").unwrap().expose(), VALUE);
    let missing = secrets.resolve("test_nowhere").unwrap_err();
    assert_eq!(
        missing,
        SecretError::Missing {
            name: "test_nowhere".into(),
            looked_in: vec![
                "environment variable PEARLBRIDGE_SECRET_TEST_NOWHERE".into(),
                format!("file {}", file.display()),
            ],
        }
    );
    assert_eq!(
        missing.to_string(),
        format!(
            r#"secret "test_nowhere" not found (looked in: environment variable PEARLBRIDGE_SECRET_TEST_NOWHERE; file {})"#,
            file.display()
        )
    );
    let problems = secrets.check(["test_both", "test_nowhere", "test_empty"]);
    assert_eq!(problems.len(), 2);
    assert!(!format!("{secrets:?}").contains("from-env"));
}

#[test]
fn file_secrets_read_names_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(
        dir.path(),
        "secrets.toml",
        &format!("# tokens\nacme_bc_token = \"{VALUE}\"\n\"acme-bp-token\" = 'literal \\n kept'\n"),
        0o600,
    );
    let fs = FileSecrets::open(&file).unwrap();
    assert_eq!(
        fs.names().collect::<Vec<_>>(),
        vec!["acme-bp-token", "acme_bc_token"]
    );
    assert_eq!(fs.get("acme_bc_token").unwrap().unwrap().expose(), VALUE);
    assert_eq!(
        fs.get("acme-bp-token").unwrap().unwrap().expose(),
        "literal \\n kept"
    );
    assert!(fs.get("other").unwrap().is_none());
    assert_eq!(fs.describe(), format!("file {}", file.display()));
    let debug = format!("{fs:?}");
    assert!(
        debug.contains("acme_bc_token") && !debug.contains(VALUE),
        "{debug}"
    );
}

#[test]
fn file_readable_by_others_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    for mode in [0o644, 0o640, 0o604, 0o620, 0o660] {
        let file = write_file(
            dir.path(),
            "secrets.toml",
            &format!("a = \"{VALUE}\"\n"),
            mode,
        );
        let err = FileSecrets::open(&file).unwrap_err();
        assert_eq!(
            err,
            SecretError::Permissions {
                file: file.clone(),
                mode
            }
        );
        assert_eq!(
            err.to_string(),
            format!(
                "secrets file {f} has mode {mode:04o}: group and others must have no access; run `chmod 600 {f}`",
                f = file.display()
            )
        );
    }
    let file = write_file(
        dir.path(),
        "secrets.toml",
        &format!("a = \"{VALUE}\"\n"),
        0o400,
    );
    assert_eq!(
        FileSecrets::open(&file)
            .unwrap()
            .get("a")
            .unwrap()
            .unwrap()
            .expose(),
        VALUE
    );
}

#[test]
fn missing_file_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nope.toml");
    let err = FileSecrets::open(&file).unwrap_err();
    assert!(
        matches!(&err, SecretError::Io { file: f, .. } if *f == file),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with(&format!("secrets file {}: ", file.display()))
    );
}

#[test]
fn parse_errors_name_file_line_and_key_but_never_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, String, usize, &str)> = vec![
        // unterminated string
        (
            "a.toml",
            format!("ok = \"x\"\n\nbroken = \"{VALUE}\n"),
            3,
            "key `broken`: not valid TOML",
        ),
        // bare value without quotes
        (
            "b.toml",
            format!("first = \"x\"\nbare = {VALUE}\n"),
            2,
            "key `bare`: not valid TOML",
        ),
        // an integer
        (
            "c.toml",
            "a = \"x\"\nb = \"y\"\npin = 123456789\n".to_string(),
            3,
            "key `pin`: expected a string value, found integer",
        ),
        // a table
        (
            "d.toml",
            format!("[acme]\ntoken = \"{VALUE}\"\n"),
            1,
            "key `acme`: expected a string value, found table",
        ),
        // an empty value
        (
            "e.toml",
            "x = \"\"\n".to_string(),
            1,
            "key `x`: value is empty",
        ),
        // a duplicate key repeating the value
        (
            "f.toml",
            format!("dup = \"{VALUE}\"\ndup = \"{VALUE}\"\n"),
            2,
            "key `dup`: not valid TOML",
        ),
    ];
    for (name, text, line, start) in cases {
        let file = write_file(dir.path(), name, &text, 0o600);
        let err = FileSecrets::open(&file).unwrap_err();
        let SecretError::Parse {
            file: f,
            line: l,
            message,
        } = &err
        else {
            panic!("{name}: {err:?}")
        };
        assert_eq!(f, &file);
        assert_eq!(*l, line, "{name}: {message}");
        assert!(message.starts_with(start), "{name}: {message}");
        let shown = format!("{err} {err:?}");
        assert!(
            !shown.contains(VALUE) && !shown.contains("123456789"),
            "{name} leaked: {shown}"
        );
        assert!(
            shown.contains(&format!("{}:{line}: ", file.display())),
            "{shown}"
        );
    }
}
