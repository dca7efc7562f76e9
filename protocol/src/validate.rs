//! Rules for room names and display names, shared so that the app can check before it sends.

/// The longest display name, in characters.
pub const MAX_NAME_CHARS: usize = 40;
/// The longest room name, in characters.
pub const MAX_ROOM_CHARS: usize = 64;

/// The longest chat message, in characters.
pub const MAX_CHAT_CHARS: usize = 2000;

/// Why a chat message was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChatError {
    /// Nothing but white space.
    #[error("the message is empty")]
    Empty,
    /// Longer than [`MAX_CHAT_CHARS`].
    #[error("messages may be at most {MAX_CHAT_CHARS} characters long")]
    TooLong,
}

/// Trims a chat message and checks its length. Line breaks and tabs stay; other control and
/// bidi-override characters are removed, so a message cannot reorder what is shown around it.
pub fn normalize_chat_text(raw: &str) -> Result<String, ChatError> {
    let text: String = raw
        .trim()
        .chars()
        .filter(|&c| c == '\n' || c == '\t' || !is_forbidden_in_name(c))
        .collect();
    if text.trim().is_empty() {
        return Err(ChatError::Empty);
    }
    if text.chars().count() > MAX_CHAT_CHARS {
        return Err(ChatError::TooLong);
    }
    Ok(text)
}

/// Why a display name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Nothing but white space.
    #[error("the name is empty")]
    Empty,
    /// Longer than [`MAX_NAME_CHARS`].
    #[error("the name is longer than {MAX_NAME_CHARS} characters")]
    TooLong,
    /// Contains control or formatting characters (line breaks, bidi overrides, ...).
    #[error("the name contains control characters")]
    ForbiddenCharacter,
}

/// Why a room name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RoomNameError {
    /// Empty.
    #[error("the room name is empty")]
    Empty,
    /// Longer than [`MAX_ROOM_CHARS`].
    #[error("the room name is longer than {MAX_ROOM_CHARS} characters")]
    TooLong,
    /// Contains something other than letters, digits, `-`, `_` and `.`.
    #[error("room names may only contain letters, digits, '-', '_' and '.'")]
    ForbiddenCharacter,
}

/// Trims a display name, collapses inner runs of white space and checks it.
///
/// Any printable Unicode is allowed (names are shown as text, never as HTML), but control and
/// bidirectional-formatting characters are not: they could hide or reorder other people's names.
pub fn normalize_display_name(raw: &str) -> Result<String, NameError> {
    let mut name = String::with_capacity(raw.len());
    for word in raw.split_whitespace() {
        if !name.is_empty() {
            name.push(' ');
        }
        name.push_str(word);
    }
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.chars().any(is_forbidden_in_name) {
        return Err(NameError::ForbiddenCharacter);
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(NameError::TooLong);
    }
    Ok(name)
}

fn is_forbidden_in_name(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// Checks a room name and returns it lower-cased, so that `Rat` and `rat` are the same room.
pub fn validate_room_name(raw: &str) -> Result<String, RoomNameError> {
    if raw.is_empty() {
        return Err(RoomNameError::Empty);
    }
    if raw.chars().count() > MAX_ROOM_CHARS {
        return Err(RoomNameError::TooLong);
    }
    if !raw.chars().all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.')) {
        return Err(RoomNameError::ForbiddenCharacter);
    }
    Ok(raw.to_lowercase())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_collapsed() {
        assert_eq!(normalize_display_name("  Anna   Müller \t"), Ok("Anna Müller".into()));
        assert_eq!(normalize_display_name("<b>Bob</b>"), Ok("<b>Bob</b>".into()));
        assert_eq!(normalize_display_name("李小龍"), Ok("李小龍".into()));
    }

    #[test]
    fn bad_names_are_refused() {
        assert_eq!(normalize_display_name("   "), Err(NameError::Empty));
        assert_eq!(normalize_display_name(&"x".repeat(41)), Err(NameError::TooLong));
        assert_eq!(normalize_display_name(&"ä".repeat(40)).map(|n| n.chars().count()), Ok(40));
        assert_eq!(
            normalize_display_name("Eve\u{202E}gnp.exe"),
            Err(NameError::ForbiddenCharacter)
        );
        assert_eq!(normalize_display_name("a\u{0}b"), Err(NameError::ForbiddenCharacter));
    }

    #[test]
    fn chat_text() {
        assert_eq!(normalize_chat_text("  hallo\nwelt  "), Ok("hallo\nwelt".into()));
        assert_eq!(normalize_chat_text("a\u{202E}b\u{0}c"), Ok("abc".into()));
        assert_eq!(normalize_chat_text(" \n "), Err(ChatError::Empty));
        assert_eq!(normalize_chat_text(&"x".repeat(2001)), Err(ChatError::TooLong));
        assert!(normalize_chat_text(&"ü".repeat(2000)).is_ok());
    }

    #[test]
    fn room_names() {
        assert_eq!(validate_room_name("Rat-2026_Sitzung.3"), Ok("rat-2026_sitzung.3".into()));
        assert_eq!(validate_room_name("Schöneberg"), Ok("schöneberg".into()));
        assert_eq!(validate_room_name(""), Err(RoomNameError::Empty));
        assert_eq!(validate_room_name("a b"), Err(RoomNameError::ForbiddenCharacter));
        assert_eq!(validate_room_name("../etc"), Err(RoomNameError::ForbiddenCharacter));
        assert_eq!(validate_room_name(&"r".repeat(65)), Err(RoomNameError::TooLong));
    }
}
