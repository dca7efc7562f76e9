//! The room's chat as the app keeps it: messages, the unread count, and links found in text.

use std::collections::VecDeque;

use protocol::ChatMessage;

/// How many messages the app keeps (the relay sends at most 100 on join).
const KEEP: usize = 500;

/// A piece of a chat message: plain text, or a web link to make clickable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Shown as text, never as HTML.
    Text(String),
    /// An `http://` or `https://` address.
    Link(String),
}

/// Splits `text` into plain text and links. Only `http://` and `https://` addresses become links
/// (never `javascript:` or `data:`); trailing punctuation stays text.
pub fn linkify(text: &str) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut plain = String::new();
    let mut rest = text;
    while let Some(start) = find_scheme(rest) {
        plain.push_str(&rest[..start]);
        let candidate = &rest[start..];
        let end = candidate.find(char::is_whitespace).unwrap_or(candidate.len());
        let mut url = &candidate[..end];
        while let Some(last) = url.chars().last() {
            let unbalanced_close =
                last == ')' && url.matches('(').count() < url.matches(')').count();
            if matches!(last, '.' | ',' | ';' | ':' | '!' | '?' | '\'' | '"' | ']' | '}' | '>')
                || unbalanced_close
            {
                url = &url[..url.len() - last.len_utf8()];
            } else {
                break;
            }
        }
        let host_part = url.split_once("://").map(|(_, h)| h).unwrap_or_default();
        if host_part.is_empty() {
            plain.push_str(url);
        } else {
            if !plain.is_empty() {
                segments.push(Segment::Text(std::mem::take(&mut plain)));
            }
            segments.push(Segment::Link(url.to_owned()));
        }
        rest = &candidate[url.len()..];
        if url.is_empty() {
            // Cannot happen (a scheme is never empty), but never loop forever on odd input.
            plain.push_str(rest);
            rest = "";
        }
    }
    plain.push_str(rest);
    if !plain.is_empty() {
        segments.push(Segment::Text(plain));
    }
    segments
}

fn find_scheme(text: &str) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    [lower.find("https://"), lower.find("http://")].into_iter().flatten().min()
}

/// The chat of one room, with what the person has not read yet.
#[derive(Debug, Default)]
pub struct ChatLog {
    /// Messages, oldest first.
    messages: VecDeque<ChatMessage>,
    /// Messages that arrived while the panel was closed.
    unread: usize,
    /// Whether the chat panel is showing.
    open: bool,
}

impl ChatLog {
    /// Replaces the log with the history from `welcome` (already read: it happened before).
    pub fn reset(&mut self, history: Vec<ChatMessage>) {
        self.messages = history.into();
        self.unread = 0;
    }

    /// Adds a new message; `mine` messages never count as unread.
    pub fn push(&mut self, message: ChatMessage, mine: bool) {
        if self.messages.back().is_some_and(|last| last.id >= message.id) {
            return; // a duplicate after a reconnect
        }
        if !self.open && !mine {
            self.unread += 1;
        }
        if self.messages.len() == KEEP {
            self.messages.pop_front();
        }
        self.messages.push_back(message);
    }

    /// Opens or closes the panel; opening marks everything read.
    pub fn set_open(&mut self, open: bool) {
        self.open = open;
        if open {
            self.unread = 0;
        }
    }

    /// Whether the panel is showing.
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Messages not yet seen.
    pub fn unread(&self) -> usize {
        self.unread
    }

    /// All messages, oldest first.
    pub fn messages(&self) -> impl Iterator<Item = &ChatMessage> {
        self.messages.iter()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use protocol::ParticipantId;

    fn link(s: &str) -> Segment {
        Segment::Link(s.into())
    }
    fn text(s: &str) -> Segment {
        Segment::Text(s.into())
    }

    #[test]
    fn links_are_found_and_trimmed() {
        assert_eq!(linkify("no links here"), vec![text("no links here")]);
        assert_eq!(
            linkify("Agenda: https://rat.example/tagesordnung?x=1. Danke!"),
            vec![text("Agenda: "), link("https://rat.example/tagesordnung?x=1"), text(". Danke!")]
        );
        assert_eq!(
            linkify("(see http://a.example/wiki/Foo_(bar))"),
            vec![text("(see "), link("http://a.example/wiki/Foo_(bar)"), text(")")]
        );
        assert_eq!(linkify("HTTPS://X.EXAMPLE"), vec![link("HTTPS://X.EXAMPLE")]);
        assert_eq!(linkify("https:// nothing"), vec![text("https:// nothing")]);
    }

    #[test]
    fn dangerous_schemes_and_html_stay_text() {
        assert_eq!(linkify("javascript:alert(1)"), vec![text("javascript:alert(1)")]);
        assert_eq!(linkify("<a href=x>y</a>"), vec![text("<a href=x>y</a>")]);
        assert_eq!(
            linkify("data:text/html,<script> https://ok.example"),
            vec![text("data:text/html,<script> "), link("https://ok.example")]
        );
    }

    fn message(id: u64) -> ChatMessage {
        ChatMessage {
            id,
            from: ParticipantId(1),
            name: "A".into(),
            text: "t".into(),
            sent_at_ms: 0,
        }
    }

    #[test]
    fn unread_counts_only_while_closed_and_not_own() {
        let mut log = ChatLog::default();
        log.reset(vec![message(1), message(2)]);
        assert_eq!(log.unread(), 0, "history is not unread");
        log.push(message(3), false);
        log.push(message(4), true);
        assert_eq!(log.unread(), 1);
        log.set_open(true);
        assert_eq!(log.unread(), 0);
        log.push(message(5), false);
        assert_eq!(log.unread(), 0);
        log.push(message(5), false);
        assert_eq!(log.messages().count(), 5, "duplicates are dropped");
    }
}
