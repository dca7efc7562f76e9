//! The settings file with the real binary: `relay check-config` reads file, environment and
//! flags in that order of strength, says where each setting came from, and refuses bad files
//! with the line; `relay --config` starts with the file's settings (here: JSON log lines).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::process::Command;

fn file(name: &str, text: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("treffpunkt-{name}-{}.toml", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

fn relay() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_relay"));
    // Only what each test sets.
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("TREFFPUNKT_")) {
        command.env_remove(key);
    }
    command
}

#[test]
fn flags_beat_the_environment_which_beats_the_file() {
    let path = file(
        "order",
        "room-capacity = 30\nmax-rooms = 20\nmesh-threshold = 6\nsfu-rooms = [\"klasse-*\", \"rat\"]\n\
         operator-key = \"0123456789abcdef0123456789abcdef\"\n",
    );
    let out = relay()
        .arg("check-config")
        .arg(&path)
        .args(["--max-rooms", "5"])
        .env("TREFFPUNKT_MESH_THRESHOLD", "3")
        .env("TREFFPUNKT_MAX_ROOMS", "9")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    for line in [
        "room-capacity = 30    (file)",
        "mesh-threshold = 3    (environment)",
        "max-rooms = 5    (flag)",
        "sfu-rooms = klasse-*,rat    (file)",
        "operator-key = (set)    (file)",
    ] {
        assert!(stdout.contains(line), "{line:?} missing in:\n{stdout}");
    }
    assert!(!stdout.contains("0123456789abcdef"), "a secret was printed:\n{stdout}");
    std::fs::remove_file(path).unwrap();
}

#[test]
fn a_bad_file_is_refused_with_its_line_before_anything_starts() {
    let path = file("typo", "listen = \"127.0.0.1:0\"\nroom-capcity = 30\n");
    for args in [vec!["check-config"], vec!["--config"]] {
        let out = relay().args(&args).arg(&path).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            stderr
                .contains("line 2: `room-capcity` is not a setting; did you mean `room-capacity`?"),
            "{args:?}: {stderr}"
        );
    }
    // A value the flag would refuse, and a check only a start would otherwise make.
    let short = file("short", "operator-key = \"too-short\"\n");
    let out = relay().arg("check-config").arg(&short).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 32 characters"));
    std::fs::remove_file(path).unwrap();
    std::fs::remove_file(short).unwrap();
}

#[test]
fn the_relay_starts_with_the_files_settings() {
    let path = file("start", "listen = \"127.0.0.1:0\"\nlog-format = \"json\"\n");
    let mut child =
        relay().arg("--config").arg(&path).stdout(std::process::Stdio::piped()).spawn().unwrap();
    // Should the relay say nothing, the reads below end when it is stopped after 20 s.
    let pid = child.id().to_string();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(20));
        let _ = Command::new("kill").arg(pid).status();
    });
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut lines = std::io::BufRead::lines(stdout);
    let said = lines.next().expect("the relay said nothing").unwrap();
    assert!(said.contains("listening on 127.0.0.1:"), "{said}");
    // The file asked for JSON logs: the next line (the media port opening) is one JSON object.
    let logged = lines.next().expect("the relay logged nothing").unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::remove_file(path).unwrap();
    let json: serde_json::Value = serde_json::from_str(&logged).expect(&logged);
    assert!(json["level"].is_string() && json["fields"].is_object(), "{logged}");
}
