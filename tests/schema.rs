//! The SDL snapshot: `schema.graphql` must be exactly what `roombook print-schema` prints.
//! Refresh it after an intended API change with `UPDATE_SCHEMA=1 cargo test --test schema`.

use std::path::Path;
use std::process::Command;

#[test]
fn schema_graphql_matches_the_code() {
    let output = Command::new(env!("CARGO_BIN_EXE_roombook"))
        .arg("print-schema")
        .output()
        .expect("roombook print-schema runs");
    assert!(output.status.success(), "print-schema failed");
    let actual = String::from_utf8(output.stdout).expect("SDL is UTF-8");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &actual).expect("schema.graphql written");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    if expected != actual {
        let mut diff = String::new();
        for (i, (e, a)) in expected.lines().zip(actual.lines()).enumerate() {
            if e != a {
                diff.push_str(&format!("line {}:\n- {e}\n+ {a}\n", i + 1));
            }
        }
        let (el, al) = (expected.lines().count(), actual.lines().count());
        if el != al {
            diff.push_str(&format!(
                "schema.graphql has {el} lines, the code's SDL {al}\n"
            ));
        }
        panic!(
            "schema.graphql differs from the schema the code builds (- file, + code):\n{diff}\n\
             If the API change is intended, refresh it with:\n    UPDATE_SCHEMA=1 cargo test --test schema\n\
             and review `git diff schema.graphql`."
        );
    }
}
