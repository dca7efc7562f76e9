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
            Self::Media(MediaError::Denied) => "error-media-denied",
            Self::Media(MediaError::Missing) => "error-media-missing",
            Self::Media(MediaError::Busy) => "error-media-busy",
            Self::Media(MediaError::Unsupported) => "error-media-unsupported",
            Self::Media(MediaError::Other) => "error-media-other",
            Self::Camera(MediaError::Denied) => "error-camera-denied",
            Self::Camera(MediaError::Missing) => "error-camera-missing",
            Self::Camera(MediaError::Busy) => "error-camera-busy",
            Self::Camera(MediaError::Other) => "error-camera-other",
            Self::Microphone(MediaError::Denied) => "error-microphone-denied",
            Self::Microphone(MediaError::Missing) => "error-microphone-missing",
            Self::Microphone(MediaError::Busy) => "error-microphone-busy",
            Self::Microphone(MediaError::Other) => "error-microphone-other",
            Self::Camera(MediaError::Unsupported) | Self::Microphone(MediaError::Unsupported) => {
                "error-media-unsupported"
            }
            Self::RelayUnreachable => "error-relay-unreachable",
            Self::RelayLost => "error-relay-lost",
            Self::PeerFailed(_) => "error-peer-failed",
            Self::ScreenShare => "error-screen-failed",
            Self::Removed => "error-removed",
            Self::MeetingEnded => "error-meeting-ended",
            Self::Denied => "error-denied",
            Self::Relay(code, _) => match code {
                ErrorCode::RoomFull => "error-room-full",
                ErrorCode::TooManyRooms => "error-too-many-rooms",
                ErrorCode::LinkRefused => "error-link-refused",
                ErrorCode::Removed => "error-removed",
                ErrorCode::RoomLocked => "error-room-locked",
                ErrorCode::MicrophoneLocked => "error-microphone-locked",
                ErrorCode::PasswordRequired => "error-password-required",
                ErrorCode::WrongPassword => "error-wrong-password",
                ErrorCode::TooManyAttempts => "error-too-many-attempts",
                ErrorCode::InvalidName => "error-invalid-name",
                ErrorCode::InvalidRoomName => "error-invalid-room",
                ErrorCode::UnsupportedVersion => "error-unsupported-version",
                ErrorCode::ShuttingDown => "error-shutting-down",
                ErrorCode::RateLimited => "error-rate-limited",
                ErrorCode::InvalidChat => "error-invalid-chat",
                ErrorCode::ChatRateLimited => "error-chat-rate-limited",
                _ => "error-relay-other",
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
            let texts = crate::i18n::tests::Texts::new(locale);
            for e in &errors {
                assert!(texts.has(e.message_key()), "{locale:?} lacks {}", e.message_key());
            }
        }
    }
}
