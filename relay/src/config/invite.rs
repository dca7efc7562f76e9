//! `relay invite`: prints a signed invitation link for a room, made with the same link secret
//! the relay checks (flag, environment or file, as for the relay itself).

use std::path::PathBuf;

use clap::Parser;
use protocol::Role;

use crate::config::links::{Grant, LinkKeys, MIN_OPERATOR_KEY, parse_validity};

/// `relay invite --room klasse-7b --role host --valid 30d`
#[derive(Debug, Parser)]
#[command(name = "relay invite", about = "Prints a signed invitation link for a room")]
pub struct InviteArgs {
    /// The room the link opens.
    #[arg(long)]
    pub room: String,
    /// The role its holder gets: host, participant or listener.
    #[arg(long, default_value = "participant", value_parser = parse_role)]
    pub role: Role,
    /// How long the link works: a number and d, h, m or s.
    #[arg(long, default_value = "30d", value_parser = parse_validity)]
    pub valid: u64,
    /// Marks the link "lobby on": its holders wait until a host lets them in (unless a host has
    /// turned the room's lobby off), and a room it opens starts with the lobby on.
    #[arg(long)]
    pub lobby: bool,
    /// Where people open Treffpunkt (the page's address, without a query). Default: the
    /// tenant's first host with `--tenant`, else `http://localhost:8080/`.
    #[arg(long, env = "TREFFPUNKT_PUBLIC_URL")]
    pub base_url: Option<String>,
    /// A link for this tenant's rooms (its `name` in the settings file `--config` names),
    /// signed with its link secret.
    #[arg(long, requires = "config", conflicts_with_all = ["link_secret", "link_secret_file"])]
    pub tenant: Option<String>,
    /// The relay's settings file, where `--tenant` is looked up.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The link secret (as the relay's `--link-secret`).
    #[arg(long, env = "TREFFPUNKT_LINK_SECRET", hide_env_values = true)]
    pub link_secret: Option<String>,
    /// A file whose first line is the link secret.
    #[arg(long, env = "TREFFPUNKT_LINK_SECRET_FILE")]
    pub link_secret_file: Option<PathBuf>,
}

fn parse_role(text: &str) -> Result<Role, String> {
    match text {
        "host" => Ok(Role::Host),
        "participant" => Ok(Role::Participant),
        "listener" => Ok(Role::Listener),
        _ => Err(format!("{text:?} is not a role: host, participant or listener")),
    }
}

/// The link for `args`, valid from `unix_now` (seconds since 1970).
pub fn link(args: &InviteArgs, unix_now: u64) -> Result<String, String> {
    let grant = Grant {
        room: args.room.clone(),
        role: args.role,
        expires: unix_now.saturating_add(args.valid),
        lobby: args.lobby,
    };
    if let (Some(name), Some(path)) = (&args.tenant, &args.config) {
        let loaded =
            crate::config::file::load(vec!["relay".into(), "--config".into(), path.into()])
                .map_err(|e| e.to_string())?;
        crate::config::tenants::check_all(&loaded.config.tenants)?;
        let tenant = loaded
            .config
            .tenants
            .iter()
            .find(|t| &t.name == name)
            .ok_or_else(|| format!("{} has no [[tenant]] called {name:?}", path.display()))?;
        let keys = tenant
            .link_keys()
            .ok_or_else(|| format!("tenant {name} has no link-secret: its rooms are open"))?;
        let base = args.base_url.clone().unwrap_or_else(|| tenant.public_url());
        return signed_link(&keys, &base, grant);
    }
    let config = crate::Config {
        link_secret: args.link_secret.clone(),
        link_secret_file: args.link_secret_file.clone(),
        ..crate::Config::parse_from(["relay"])
    };
    let keys: LinkKeys = config
        .link_keys()?
        .ok_or("no link secret: set --link-secret, TREFFPUNKT_LINK_SECRET or --link-secret-file")?;
    let base = args.base_url.as_deref().unwrap_or("http://localhost:8080/");
    signed_link(&keys, base, grant)
}

/// The link that opens `grant`'s room at `base_url`, signed with `keys`; the room name is
/// checked and normalised first.
pub fn signed_link(keys: &LinkKeys, base_url: &str, grant: Grant) -> Result<String, String> {
    let room = protocol::validate_room_name(&grant.room)
        .map_err(|e| format!("{:?} is not a room name: {e}", grant.room))?;
    let token = keys.sign(&Grant { room: room.clone(), ..grant });
    let base = base_url.split(['?', '#']).next().unwrap_or_default();
    let encode = |text: &str| -> String {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    Ok(format!("{base}?room={}&link={token}", encode(&room)))
}

/// The largest request body the invitation endpoint reads.
pub const MAX_REQUEST_BYTES: usize = 1024;

/// A request to `POST /api/invite` (JSON).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct InviteRequest {
    room: String,
    #[serde(default = "participant")]
    role: String,
    #[serde(default = "thirty_days")]
    valid: String,
    #[serde(default)]
    lobby: bool,
}

fn participant() -> String {
    "participant".into()
}

fn thirty_days() -> String {
    "30d".into()
}

/// The answer to `POST /api/invite` with `authorization` and `body`: an HTTP status and a JSON
/// body, `{"link": ..., "expires": ...}` or `{"error": ...}`. No I/O; the server calls it.
pub fn answer(
    config: &crate::Config,
    tenant: Option<&crate::config::tenants::TenantSettings>,
    authorization: Option<&str>,
    body: &[u8],
    unix_now: u64,
) -> (u16, serde_json::Value) {
    let refuse = |status, error: &str| (status, serde_json::json!({ "error": error }));
    // On a tenant's host, the tenant's key, secret and address: never the relay's own.
    let operator_key = match tenant {
        Some(tenant) => tenant.operator_key.as_deref(),
        None => config.operator_key.as_deref(),
    };
    let Some(key) = operator_key.filter(|k| k.len() >= MIN_OPERATOR_KEY) else {
        return refuse(404, "this relay has no operator key; the invitation endpoint is off");
    };
    let given = authorization.and_then(|h| h.strip_prefix("Bearer ")).unwrap_or_default();
    if !crate::config::links::constant_time_eq(given.trim().as_bytes(), key.as_bytes()) {
        return refuse(401, "wrong or missing operator key (Authorization: Bearer <key>)");
    }
    if body.len() > MAX_REQUEST_BYTES {
        return refuse(413, "request too large");
    }
    let request: InviteRequest = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => return refuse(400, &format!("not a valid request: {e}")),
    };
    let role = match parse_role(&request.role) {
        Ok(role) => role,
        Err(e) => return refuse(400, &e),
    };
    let valid = match parse_validity(&request.valid) {
        Ok(valid) => valid,
        Err(e) => return refuse(400, &e),
    };
    let keys = match tenant {
        Some(tenant) => Ok(tenant.link_keys()),
        None => config.link_keys(),
    };
    let keys = match keys {
        Ok(Some(keys)) => keys,
        Ok(None) => return refuse(503, "this relay has no link secret, so rooms are open"),
        Err(e) => return refuse(503, &e),
    };
    let expires = unix_now.saturating_add(valid);
    let tenant_url = tenant.map(crate::config::tenants::TenantSettings::public_url);
    let base = tenant_url.as_deref().or(config.public_url.as_deref()).unwrap_or("/");
    let grant = Grant { room: request.room, role, expires, lobby: request.lobby };
    match signed_link(&keys, base, grant) {
        Ok(link) => (200, serde_json::json!({ "link": link, "expires": expires })),
        Err(e) => refuse(400, &e),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;
    const SECRET: &str = "a town's secret, long enough";

    fn args(extra: &[&str]) -> InviteArgs {
        let base =
            ["relay invite", "--link-secret", SECRET, "--base-url", "https://meet.example.org/"];
        InviteArgs::try_parse_from([&base[..], extra].concat()).unwrap()
    }

    #[test]
    fn prints_a_link_that_the_relay_accepts_for_that_room_and_role() {
        let url =
            link(&args(&["--room", "klasse-7b", "--role", "host", "--valid", "2d"]), NOW).unwrap();
        let token = url.strip_prefix("https://meet.example.org/?room=klasse-7b&link=").unwrap();
        let keys = LinkKeys::new(SECRET.as_bytes(), None);
        let grant = keys.verify(Some(token), "klasse-7b", NOW).unwrap();
        assert_eq!((grant.role, grant.expires, grant.lobby), (Role::Host, NOW + 2 * 86_400, false));
        assert!(
            keys.verify(Some(token), "klasse-7b", NOW + 2 * 86_400).is_err(),
            "expired after 2 days"
        );
    }

    #[test]
    fn refuses_without_a_secret_and_with_bad_roles_rooms_or_validities() {
        let no_secret = InviteArgs::try_parse_from([
            "relay invite",
            "--room",
            "rat",
            "--base-url",
            "https://x/",
        ])
        .unwrap();
        if std::env::var_os("TREFFPUNKT_LINK_SECRET").is_none() {
            assert!(link(&no_secret, NOW).unwrap_err().starts_with("no link secret"));
        }
        let short =
            InviteArgs::try_parse_from(["relay invite", "--room", "rat", "--link-secret", "short"])
                .unwrap();
        assert!(link(&short, NOW).unwrap_err().contains("at least 16 characters"));
        assert!(
            InviteArgs::try_parse_from(["relay invite", "--room", "rat", "--role", "admin"])
                .is_err()
        );
        assert!(
            InviteArgs::try_parse_from(["relay invite", "--room", "rat", "--valid", "forever"])
                .is_err()
        );
        assert!(link(&args(&["--room", "a/b"]), NOW).unwrap_err().contains("is not a room name"));
    }

    #[test]
    fn signs_a_tenants_links_with_its_secret_for_its_host() {
        let path =
            std::env::temp_dir().join(format!("treffpunkt-invite-{}.toml", std::process::id()));
        std::fs::write(
            &path,
            format!(
                "[[tenant]]\nname = \"schule\"\nhosts = [\"schule.example.org\"]\n\
                 link-secret = \"{SECRET}\"\n\n[[tenant]]\nname = \"offen\"\nhosts = [\"o.example\"]\n"
            ),
        )
        .unwrap();
        let file = path.to_str().unwrap();
        let parse = |tenant: &str| {
            InviteArgs::try_parse_from([
                "relay invite",
                "--room",
                "rat",
                "--config",
                file,
                "--tenant",
                tenant,
            ])
            .unwrap()
        };
        let url = link(&parse("schule"), NOW).unwrap();
        let token = url.strip_prefix("https://schule.example.org/?room=rat&link=").unwrap();
        let keys = LinkKeys::new(SECRET.as_bytes(), None);
        assert_eq!(keys.verify(Some(token), "rat", NOW).unwrap().role, Role::Participant);
        assert!(link(&parse("offen"), NOW).unwrap_err().contains("its rooms are open"));
        assert!(link(&parse("andere"), NOW).unwrap_err().contains("no [[tenant]] called"));
        assert!(
            InviteArgs::try_parse_from(["relay invite", "--room", "rat", "--tenant", "schule"])
                .is_err(),
            "--tenant needs --config"
        );
        std::fs::remove_file(&path).unwrap();
    }
}
