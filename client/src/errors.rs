//! Everything that can go wrong for a person, and the locale key of the sentence they see.

use protocol::ErrorCode;

/// Why getting the camera or microphone failed, from the `DOMException` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaError {
    /// The person or the browser refused permission (`NotAllowedError`, `SecurityError`).
    Denied,
    /// There is no such device (`NotFoundError`, `OverconstrainedError`).
    Missing,
    /// The device exists but cannot be opened, usually because another program uses it
    /// (`NotReadableError`, `AbortError`).
    Busy,
    /// The page is not in a secure context, so the browser offers no media devices at all.
    Unsupported,
    /// Anything else.
    Other,
}

impl MediaError {
    /// Maps a `DOMException.name`.
    pub fn from_dom_name(name: &str) -> Self {
        match name {
            "NotAllowedError" | "SecurityError" | "PermissionDeniedError" => Self::Denied,
            "NotFoundError" | "OverconstrainedError" | "DevicesNotFoundError" => Self::Missing,
            "NotReadableError" | "AbortError" | "TrackStartError" => Self::Busy,
            "TypeError" | "NotSupportedError" => Self::Unsupported,
            _ => Self::Other,
        }
    }
}

/// A problem to tell the person about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserError {
    /// Camera and microphone could not be opened.
    Media(MediaError),
    /// The camera could not be opened (the microphone, if asked for, works).
    Camera(MediaError),
    /// The microphone could not be opened (the camera, if asked for, works).
    Microphone(MediaError),
    /// The relay could not be reached at all.
    RelayUnreachable,
    /// The connection to the relay broke during the meeting.
    RelayLost,
    /// The relay refused something, with its code and English sentence.
    Relay(ErrorCode, String),
    /// The direct connection to one participant failed.
    PeerFailed(String),
    /// Screen sharing could not start (cancelled, refused or unsupported).
    ScreenShare,
    /// A host removed us from the meeting.
    Removed,
    /// A host ended the meeting for everyone.
    MeetingEnded,
    /// A host did not let us in from the lobby.
    Denied,
}

impl UserError {
    /// The locale key of the sentence to show.
    pub fn message_key(&self) -> &'static str {
        match self {
            Self::Media(MediaError::Denied) => "error.media_denied",
            Self::Media(MediaError::Missing) => "error.media_missing",
            Self::Media(MediaError::Busy) => "error.media_busy",
            Self::Media(MediaError::Unsupported) => "error.media_unsupported",
            Self::Media(MediaError::Other) => "error.media_other",
            Self::Camera(MediaError::Denied) => "error.camera_denied",
            Self::Camera(MediaError::Missing) => "error.camera_missing",
            Self::Camera(MediaError::Busy) => "error.camera_busy",
            Self::Camera(MediaError::Other) => "error.camera_other",
            Self::Microphone(MediaError::Denied) => "error.microphone_denied",
            Self::Microphone(MediaError::Missing) => "error.microphone_missing",
            Self::Microphone(MediaError::Busy) => "error.microphone_busy",
            Self::Microphone(MediaError::Other) => "error.microphone_other",
            Self::Camera(MediaError::Unsupported) | Self::Microphone(MediaError::Unsupported) => {
                "error.media_unsupported"
            }
            Self::RelayUnreachable => "error.relay_unreachable",
            Self::RelayLost => "error.relay_lost",
            Self::PeerFailed(_) => "error.peer_failed",
            Self::ScreenShare => "error.screen_failed",
            Self::Removed => "error.removed",
            Self::MeetingEnded => "error.meeting_ended",
            Self::Denied => "error.denied",
            Self::Relay(code, _) => match code {
                ErrorCode::RoomFull => "error.room_full",
                ErrorCode::TooManyRooms => "error.too_many_rooms",
                ErrorCode::LinkRefused => "error.link_refused",
                ErrorCode::Removed => "error.removed",
                ErrorCode::RoomLocked => "error.room_locked",
                ErrorCode::MicrophoneLocked => "error.microphone_locked",
                ErrorCode::PasswordRequired => "error.password_required",
                ErrorCode::WrongPassword => "error.wrong_password",
                ErrorCode::TooManyAttempts => "error.too_many_attempts",
                ErrorCode::InvalidName => "error.invalid_name",
                ErrorCode::InvalidRoomName => "error.invalid_room",
                ErrorCode::UnsupportedVersion => "error.unsupported_version",
                ErrorCode::ShuttingDown => "error.shutting_down",
                ErrorCode::RateLimited => "error.rate_limited",
                ErrorCode::InvalidChat => "error.invalid_chat",
                ErrorCode::ChatRateLimited => "error.chat_rate_limited",
                _ => "error.relay_other",
            },
        }
    }

    /// The value for the `{detail}` placeholder: a participant's name or the relay's sentence.
    pub fn detail(&self) -> &str {
        match self {
            Self::PeerFailed(name) => name,
            Self::Relay(_, message) => message,
            _ => "",
        }
    }

    /// Whether this meeting is over for the person (removed, or ended): offer the start page,
    /// not a way back in.
    pub fn meeting_over(&self) -> bool {
        matches!(self, Self::Removed | Self::MeetingEnded | Self::Relay(ErrorCode::Removed, _))
    }

    /// Whether this is about this browser's own camera, microphone or screen: still true once
    /// the relay lets us in, so it stays shown when joining clears what was about getting in.
    pub fn about_own_devices(&self) -> bool {
        matches!(self, Self::Media(_) | Self::Camera(_) | Self::Microphone(_) | Self::ScreenShare)
    }

    /// Whether the answer is to type the meeting's password (offer a password field).
    pub fn wants_password(&self) -> bool {
        matches!(self, Self::Relay(ErrorCode::PasswordRequired | ErrorCode::WrongPassword, _))
    }

    /// Whether a retry of the same thing can help (offer a "Try again" button).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::RelayUnreachable | Self::RelayLost => true,
            Self::Relay(code, _) => {
                matches!(
                    code,
                    ErrorCode::RoomFull
                        | ErrorCode::TooManyRooms
                        | ErrorCode::ShuttingDown
                        | ErrorCode::RoomLocked
                        | ErrorCode::TooManyAttempts
                )
            }
            Self::Media(_)
            | Self::Camera(_)
            | Self::Microphone(_)
            | Self::PeerFailed(_)
            | Self::ScreenShare
            | Self::Removed
            | Self::MeetingEnded
            | Self::Denied => false,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn dom_exceptions_map_to_causes() {
        assert_eq!(MediaError::from_dom_name("NotAllowedError"), MediaError::Denied);
        assert_eq!(MediaError::from_dom_name("NotFoundError"), MediaError::Missing);
        assert_eq!(MediaError::from_dom_name("NotReadableError"), MediaError::Busy);
        assert_eq!(MediaError::from_dom_name("Weird"), MediaError::Other);
    }

    #[test]
    fn device_problems_outlive_getting_in() {
        assert!(UserError::Camera(MediaError::Missing).about_own_devices());
        assert!(UserError::Media(MediaError::Denied).about_own_devices());
        assert!(!UserError::RelayUnreachable.about_own_devices());
        assert!(!UserError::Relay(ErrorCode::RoomLocked, String::new()).about_own_devices());
    }

    #[test]
    fn every_error_has_a_sentence_in_every_locale() {
        let causes = [
            MediaError::Denied,
            MediaError::Missing,
            MediaError::Busy,
            MediaError::Unsupported,
            MediaError::Other,
        ];
        let devices = causes
            .iter()
            .flat_map(|&c| [UserError::Media(c), UserError::Camera(c), UserError::Microphone(c)]);
        let errors = devices.chain([
            UserError::RelayUnreachable,
            UserError::RelayLost,
            UserError::PeerFailed("Anna".into()),
            UserError::ScreenShare,
            UserError::Removed,
            UserError::Denied,
            UserError::MeetingEnded,
            UserError::Relay(ErrorCode::RoomFull, String::new()),
            UserError::Relay(ErrorCode::TooManyRooms, String::new()),
            UserError::Relay(ErrorCode::LinkRefused, String::new()),
            UserError::Relay(ErrorCode::Removed, String::new()),
            UserError::Relay(ErrorCode::RoomLocked, String::new()),
            UserError::Relay(ErrorCode::MicrophoneLocked, String::new()),
            UserError::Relay(ErrorCode::PasswordRequired, String::new()),
            UserError::Relay(ErrorCode::WrongPassword, String::new()),
            UserError::Relay(ErrorCode::TooManyAttempts, String::new()),
            UserError::Relay(ErrorCode::InvalidName, String::new()),
            UserError::Relay(ErrorCode::InvalidRoomName, String::new()),
            UserError::Relay(ErrorCode::UnsupportedVersion, String::new()),
            UserError::Relay(ErrorCode::ShuttingDown, String::new()),
            UserError::Relay(ErrorCode::RateLimited, String::new()),
            UserError::Relay(ErrorCode::Internal, String::new()),
            UserError::Relay(ErrorCode::InvalidChat, String::new()),
            UserError::Relay(ErrorCode::ChatRateLimited, String::new()),
        ]);
        let errors: Vec<_> = errors.collect();
        for locale in crate::i18n::Locale::ALL {
            let texts = crate::i18n::Texts::new(locale);
            for e in &errors {
                assert!(texts.has(e.message_key()), "{locale:?} lacks {}", e.message_key());
            }
        }
    }
}
