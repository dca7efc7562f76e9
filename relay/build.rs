//! Puts the git revision the relay is built from into `TREFFPUNKT_REVISION` (for `--version`
//! and `/metrics`); "unknown" outside a git checkout.

fn main() {
    let revision = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|rev| rev.trim().to_owned())
        .filter(|rev| !rev.is_empty())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=TREFFPUNKT_REVISION={revision}");
    // A new commit changes HEAD (a checkout) or the ref it points to; ask git where they are
    // (a worktree keeps them elsewhere).
    for name in ["HEAD", "refs/heads", "packed-refs"] {
        let path = std::process::Command::new("git")
            .args(["rev-parse", "--git-path", name])
            .output()
            .ok()
            .filter(|out| out.status.success())
            .and_then(|out| String::from_utf8(out.stdout).ok());
        if let Some(path) =
            path.map(|p| p.trim().to_owned()).filter(|p| std::path::Path::new(p).exists())
        {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}
