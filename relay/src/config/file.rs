//! The settings file (`relay --config treffpunkt.toml`): every flag is a key, spelt as the flag
//! without its dashes (`room-capacity = 30`, `allowed-origins = ["https://schule.example"]`).
//! Flags and environment variables override the file; the file overrides the built-in defaults.
//!
//! How: each key in the file becomes its flag's default before the command line is parsed, so
//! clap's own order (flag, then environment, then default) does the rest, and every value goes
//! through the same parser as its flag. Unknown keys and bad values are errors that name the
//! file's line.

use std::{ffi::OsString, path::Path};

use clap::{ArgAction, CommandFactory, FromArgMatches, parser::ValueSource};

use crate::{Config, config::tenants::TenantSettings};

/// Why the settings cannot be used, in a sentence for the operator.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read {path}: {reason}")]
    Unreadable {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The file is not TOML (the reason names line and column).
    #[error("{path} is not valid TOML: {reason}")]
    NotToml {
        /// The file.
        path: String,
        /// Why, from the TOML parser.
        reason: String,
    },
    /// A `[[tenant]]` table with an unknown key or a bad value (the reason names the line).
    #[error("{path}: a [[tenant]] table is wrong: {reason}")]
    BadTenant {
        /// The file.
        path: String,
        /// Why, from the TOML parser.
        reason: String,
    },
    /// A key that is no setting.
    #[error("{path} line {line}: `{key}` is not a setting{hint} (`relay --help` lists them)")]
    UnknownKey {
        /// The file.
        path: String,
        /// Where.
        line: usize,
        /// The key.
        key: String,
        /// A near setting's name, if one is close.
        hint: String,
    },
    /// A value its setting does not take.
    #[error("{path} line {line}: {key}: {reason}")]
    BadValue {
        /// The file.
        path: String,
        /// Where.
        line: usize,
        /// The key.
        key: String,
        /// What is wrong, and what is expected.
        reason: String,
    },
    /// The command line is wrong, or asks for help or the version (clap prints those).
    #[error(transparent)]
    Flags(#[from] clap::Error),
}

/// Where a setting's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A flag on the command line.
    Flag,
    /// An environment variable.
    Environment,
    /// The settings file.
    File,
}

/// Settings read from flags, environment and file, with where each came from.
#[derive(Debug)]
pub struct Loaded {
    /// The settings.
    pub config: Config,
    /// Each setting not left at its built-in default: its key, its value (secrets shown as
    /// `(set)`), and where it came from.
    pub set: Vec<(String, String, Source)>,
}

/// The settings from the command line `args` (the program's name first), the environment, and
/// the file `--config` or `TREFFPUNKT_CONFIG` names.
pub fn load(args: Vec<OsString>) -> Result<Loaded, ConfigError> {
    // Which file: read the command line once without judging it.
    let probe = Config::command().ignore_errors(true).try_get_matches_from(args.clone());
    let file = probe.ok().and_then(|m| m.get_one::<std::path::PathBuf>("config").cloned());

    let mut command = Config::command();
    let mut from_file = Vec::new();
    let mut tenants = Vec::new();
    if let Some(path) = file {
        let (settings, listed) = read(&path)?;
        for (id, value) in settings {
            command = command.mut_arg(id.as_str(), |arg| arg.default_value(value));
            from_file.push(id);
        }
        tenants = listed;
    }
    let matches = command.clone().try_get_matches_from(args)?;
    let mut config = Config::from_arg_matches(&matches)?;
    config.tenants = tenants;

    let mut set = Vec::new();
    for arg in command.get_arguments() {
        let id = arg.get_id().as_str();
        if id == "config" {
            continue;
        }
        let source = match matches.value_source(id) {
            Some(ValueSource::CommandLine) => Source::Flag,
            Some(ValueSource::EnvVariable) => Source::Environment,
            Some(ValueSource::DefaultValue) if from_file.iter().any(|f| f == id) => Source::File,
            _ => continue,
        };
        let value = if arg.is_hide_env_values_set() {
            "(set)".to_owned()
        } else {
            matches
                .get_raw(id)
                .map(|values| {
                    values.map(|v| v.to_string_lossy().into_owned()).collect::<Vec<_>>().join(",")
                })
                .unwrap_or_default()
        };
        set.push((arg.get_long().unwrap_or(id).to_owned(), value, source));
    }
    for tenant in &config.tenants {
        set.push((format!("tenant {}", tenant.name), tenant.hosts.join(","), Source::File));
    }
    Ok(Loaded { config, set })
}

/// The key of the `[[tenant]]` tables.
const TENANT_KEY: &str = "tenant";

/// What a settings file holds: its settings as (argument id, value as its flag would take it),
/// and its `[[tenant]]` tables.
type FileSettings = (Vec<(String, String)>, Vec<TenantSettings>);

/// The file's settings, checked.
fn read(path: &Path) -> Result<FileSettings, ConfigError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::Unreadable { path: name.clone(), reason: e.to_string() })?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| ConfigError::NotToml {
        path: name.clone(),
        reason: e.to_string().trim().replace('\n', " "),
    })?;
    let command = Config::command();
    let mut settings = Vec::new();
    for (key, value) in &table {
        if key == TENANT_KEY {
            continue;
        }
        let line = line_of(&text, key);
        let arg = command
            .get_arguments()
            .find(|a| a.get_long() == Some(key.as_str()))
            .filter(|a| !matches!(a.get_id().as_str(), "config" | "help" | "version"));
        let Some(arg) = arg else {
            let hint = nearest(key, command.get_arguments().filter_map(|a| a.get_long()))
                .map(|near| format!("; did you mean `{near}`?"))
                .unwrap_or_default();
            return Err(ConfigError::UnknownKey { path: name, line, key: key.clone(), hint });
        };
        let bad = |reason: String| ConfigError::BadValue {
            path: name.clone(),
            line,
            key: key.clone(),
            reason,
        };
        let text = if matches!(arg.get_action(), ArgAction::SetTrue) {
            match value {
                toml::Value::Boolean(on) => on.to_string(),
                _ => return Err(bad("expected true or false".into())),
            }
        } else {
            let listed = arg.get_value_delimiter().is_some();
            let text = as_text(value, listed).map_err(bad)?;
            // The flag's own parser judges the value.
            let flag = format!("--{key}={text}");
            if let Err(e) = Config::command().try_get_matches_from(["relay", flag.as_str()])
                && matches!(
                    e.kind(),
                    clap::error::ErrorKind::InvalidValue | clap::error::ErrorKind::ValueValidation
                )
            {
                return Err(bad(first_sentence(&e)));
            }
            text
        };
        settings.push((arg.get_id().as_str().to_owned(), text));
    }
    Ok((settings, read_tenants(&name, &text, table.get(TENANT_KEY))?))
}

/// The `[[tenant]]` tables; the TOML parser's errors name line and column.
fn read_tenants(
    name: &str,
    text: &str,
    value: Option<&toml::Value>,
) -> Result<Vec<TenantSettings>, ConfigError> {
    let Some(value) = value else { return Ok(Vec::new()) };
    if !matches!(value, toml::Value::Array(_)) {
        return Err(ConfigError::BadValue {
            path: name.to_owned(),
            line: line_of(text, TENANT_KEY),
            key: TENANT_KEY.into(),
            reason: "tenants are tables: write [[tenant]] above each one".into(),
        });
    }
    #[derive(serde::Deserialize)]
    struct Listed {
        tenant: Vec<TenantSettings>,
    }
    let listed: Listed =
        toml::from_str(text).map_err(|e: toml::de::Error| ConfigError::BadTenant {
            path: name.to_owned(),
            reason: e.to_string().trim().replace('\n', " "),
        })?;
    Ok(listed.tenant)
}

/// A TOML value as its flag's text: lists (for settings that take several) comma-separated.
fn as_text(value: &toml::Value, listed: bool) -> Result<String, String> {
    let scalar = |v: &toml::Value| match v {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(n) => Ok(n.to_string()),
        toml::Value::Float(x) => Ok(x.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        _ => Err("expected text, a number or true/false".to_owned()),
    };
    match value {
        toml::Value::Array(items) if listed => {
            Ok(items.iter().map(scalar).collect::<Result<Vec<_>, _>>()?.join(","))
        }
        toml::Value::Array(_) => Err("takes one value, not a list".into()),
        other => scalar(other),
    }
}

/// The line (from 1) where `key` is set.
fn line_of(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            let rest = l.strip_prefix(key).or_else(|| {
                l.strip_prefix('"')
                    .and_then(|q| q.strip_prefix(key))
                    .and_then(|r| r.strip_prefix('"'))
            });
            rest.is_some_and(|r| r.trim_start().starts_with('='))
        })
        .map_or(0, |i| i + 1)
}

/// Clap's message without "error: " and the advice lines after it.
fn first_sentence(error: &clap::Error) -> String {
    let rendered = error.render().to_string();
    let first = rendered.lines().next().unwrap_or_default();
    first.strip_prefix("error: ").unwrap_or(first).to_owned()
}

/// The setting whose name is closest to `key`, if it is a likely typo (at most 3 edits).
fn nearest<'a>(key: &str, names: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let key = key.replace('_', "-");
    names
        .map(|n| (edits(&key, n), n))
        .filter(|(d, _)| *d <= 3)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

/// Levenshtein distance.
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (row[j + 1] + 1).min(row[j] + 1).min(diagonal + usize::from(ca != *cb));
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// A settings file with `text`, removed when dropped.
    struct File(std::path::PathBuf);
    impl File {
        fn new(name: &str, text: &str) -> Self {
            let path = std::env::temp_dir()
                .join(format!("treffpunkt-config-{name}-{}.toml", std::process::id()));
            std::fs::write(&path, text).unwrap();
            Self(path)
        }
        fn load(&self, flags: &[&str]) -> Result<Loaded, ConfigError> {
            let mut args: Vec<OsString> = vec!["relay".into(), "--config".into()];
            args.push(self.0.clone().into());
            args.extend(flags.iter().map(OsString::from));
            load(args)
        }
    }
    impl Drop for File {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[test]
    fn the_file_sets_what_flags_do_not_and_flags_win() {
        let file = File::new(
            "order",
            "# Stadt Musterhausen\nlisten = \"127.0.0.1:9000\"\nroom-capacity = 30\n\
             sfu-rooms = [\"klasse-*\", \"gemeinderat\"]\nno-turn = true\n\
             link-secret = \"0123456789abcdef0123\"\n",
        );
        let loaded = file.load(&["--room-capacity", "12"]).unwrap();
        let config = &loaded.config;
        assert_eq!(config.listen.to_string(), "127.0.0.1:9000");
        assert_eq!(config.room_capacity, 12, "the flag wins over the file");
        assert_eq!(config.sfu_rooms, ["klasse-*", "gemeinderat"]);
        assert!(config.no_turn);
        assert_eq!(config.mesh_threshold, 4, "untouched settings keep their defaults");
        let seen = |key: &str| loaded.set.iter().find(|(k, _, _)| k == key).cloned();
        assert_eq!(
            seen("room-capacity"),
            Some(("room-capacity".into(), "12".into(), Source::Flag))
        );
        assert_eq!(seen("listen").map(|s| s.2), Some(Source::File));
        assert_eq!(seen("sfu-rooms").map(|s| s.1), Some("klasse-*,gemeinderat".into()));
        // Secrets are never shown.
        assert_eq!(seen("link-secret").map(|s| s.1), Some("(set)".into()));
        assert_eq!(seen("mesh-threshold"), None);
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_line() {
        let error = |text: &str| File::new("bad", text).load(&[]).unwrap_err().to_string();
        let typo = error("listen = \"127.0.0.1:9000\"\n\nroom-capacty = 30\n");
        assert!(typo.contains("line 3: `room-capacty` is not a setting"), "{typo}");
        assert!(typo.contains("did you mean `room-capacity`?"), "{typo}");
        let snake = error("room_capacity = 30\n");
        assert!(snake.contains("did you mean `room-capacity`?"), "{snake}");
        let range = error("room-capacity = 5000\n");
        assert!(range.contains("line 1: room-capacity:") && range.contains("5000"), "{range}");
        let address = error("# comment\nlisten = \"localhost-ish\"\n");
        assert!(address.contains("line 2: listen:"), "{address}");
        let flag = error("no-turn = \"yes\"\n");
        assert!(flag.contains("line 1: no-turn: expected true or false"), "{flag}");
        let list = error("listen = [\"127.0.0.1:1\", \"127.0.0.1:2\"]\n");
        assert!(list.contains("takes one value"), "{list}");
        let toml = error("room-capacity = \n");
        assert!(toml.contains("is not valid TOML") && toml.contains("line 1"), "{toml}");
        let itself = error("config = \"other.toml\"\n");
        assert!(itself.contains("`config` is not a setting"), "{itself}");
    }

    #[test]
    fn a_missing_file_is_an_error_and_no_file_is_fine() {
        let missing = load(vec!["relay".into(), "--config".into(), "/nonexistent/t.toml".into()]);
        assert!(matches!(missing, Err(ConfigError::Unreadable { .. })), "{missing:?}");
        let plain = load(vec!["relay".into(), "--room-capacity".into(), "7".into()]).unwrap();
        assert_eq!(plain.config.room_capacity, 7);
    }

    #[test]
    fn the_example_in_the_docs_names_every_setting_and_loads() {
        let example = include_str!("../../../docs/treffpunkt.toml");
        for arg in Config::command().get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if matches!(long, "config" | "help" | "version") {
                continue;
            }
            let named = example.lines().any(|l| {
                let l = l.trim_start_matches(['#', ' ']);
                l.strip_prefix(long).is_some_and(|rest| rest.trim_start().starts_with('='))
            });
            assert!(named, "docs/treffpunkt.toml does not mention `{long}`");
        }
        let loaded = File::new("example", example).load(&[]).unwrap();
        assert_eq!(loaded.config.sfu_rooms, ["klasse-*", "gemeinderat"]);
        assert_eq!(loaded.config.public_url.as_deref(), Some("https://meet.musterhausen.de/"));
        assert!(loaded.config.tenants.is_empty(), "a town copies the file: no tenant by accident");
        // The commented [[tenant]] example, taken in (with real secrets for the placeholders),
        // is a valid tenant.
        let tenant: String = example[example.find("# [[tenant]]").unwrap()..]
            .lines()
            .filter_map(|l| l.strip_prefix("# "))
            .map(|l| {
                l.split("  #")
                    .next()
                    .unwrap_or(l)
                    .trim_end()
                    .replace("\"...\"", "\"0123456789abcdef0123456789abcdef\"")
            })
            .map(|l| format!("{l}\n"))
            .collect();
        let loaded = File::new("example-tenant", &tenant).load(&[]).unwrap();
        let [town] = loaded.config.tenants.as_slice() else { panic!("one tenant in {tenant}") };
        assert_eq!(town.hosts, ["meet.beispielstadt.de"]);
        assert_eq!(town.room_names, ["gemeinderat", "klasse-*"]);
        crate::config::tenants::check_all(&loaded.config.tenants).unwrap();
    }

    #[test]
    fn tenant_tables_are_read_and_their_mistakes_named() {
        let tenant = "[[tenant]]\nname = \"schule\"\nhosts = [\"schule.example.org\"]\n";
        let file =
            File::new("tenants", &format!("room-capacity = 20\n\n{tenant}room-capacity = 12\n"));
        let loaded = file.load(&[]).unwrap();
        assert_eq!(loaded.config.room_capacity, 20, "a tenant's key is not the relay's");
        assert_eq!(loaded.config.tenants[0].room_capacity, Some(12));
        assert!(
            loaded.set.iter().any(|(k, v, _)| k == "tenant schule" && v == "schule.example.org")
        );
        let error = |text: &str| File::new("bad-tenant", text).load(&[]).unwrap_err().to_string();
        let typo = error(&format!("{tenant}titel = \"Schule\"\n"));
        assert!(
            typo.contains("[[tenant]]") && typo.contains("line 4") && typo.contains("titel"),
            "{typo}"
        );
        let scalar = error("tenant = \"schule\"\n");
        assert!(scalar.contains("line 1") && scalar.contains("write [[tenant]]"), "{scalar}");
        let missing = error("[[tenant]]\nname = \"schule\"\n");
        assert!(missing.contains("hosts"), "{missing}");
    }

    #[test]
    fn typos_are_matched_to_the_nearest_setting() {
        let names = ["room-capacity", "max-rooms", "listen"];
        assert_eq!(nearest("room-capcity", names.into_iter()), Some("room-capacity"));
        assert_eq!(nearest("lisen", names.into_iter()), Some("listen"));
        assert_eq!(nearest("completely-else", names.into_iter()), None);
        assert_eq!(edits("kitten", "sitting"), 3);
    }
}
