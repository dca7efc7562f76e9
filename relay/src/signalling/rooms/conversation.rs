//! Chat and raised hands.

use protocol::{ChatMessage, Role, ServerMessage};

use super::{ConnId, Outgoing, Rooms, errors::RoomError};

/// How many recent chat messages a room keeps for people who join late.
pub const CHAT_HISTORY: usize = 100;

impl Rooms {
    /// `conn` sends a chat message to everyone in its room (itself included, as confirmation).
    /// `now_ms` is the wall-clock time in milliseconds since the Unix epoch.
    pub(super) fn chat(
        &mut self,
        conn: ConnId,
        text: &str,
        now_ms: u64,
    ) -> Result<Vec<Outgoing>, RoomError> {
        let seat = self.seats.get(&conn).ok_or(RoomError::NotJoined)?;
        let room = self.rooms.get_mut(&seat.room).ok_or(RoomError::NotJoined)?;
        let text = protocol::normalize_chat_text(text).map_err(RoomError::InvalidChat)?;
        let sender = room.members.get(&seat.id).ok_or(RoomError::NotJoined)?;
        if sender.info.role == Role::Listener && !room.listener_chat {
            return Err(RoomError::Forbidden);
        }
        let name = sender.info.name.clone();
        room.next_chat_id += 1;
        let message =
            ChatMessage { id: room.next_chat_id, from: seat.id, name, text, sent_at_ms: now_ms };
        if room.chat.len() == CHAT_HISTORY {
            room.chat.pop_front();
        }
        room.chat.push_back(message.clone());
        Ok(room.everyone().map(|c| (c, ServerMessage::Chat { message: message.clone() })).collect())
    }

    /// `conn` raises or lowers its hand; everyone (itself included) learns the new state, with
    /// an order number for raised hands.
    pub(super) fn hand(&mut self, conn: ConnId, raised: bool) -> Result<Vec<Outgoing>, RoomError> {
        let seat = self.seats.get(&conn).ok_or(RoomError::NotJoined)?;
        let room = self.rooms.get_mut(&seat.room).ok_or(RoomError::NotJoined)?;
        let member = room.members.get_mut(&seat.id).ok_or(RoomError::NotJoined)?;
        if member.info.hand.is_some() == raised {
            return Ok(Vec::new());
        }
        member.info.hand = if raised {
            room.next_hand += 1;
            Some(room.next_hand)
        } else {
            None
        };
        let participant = member.info.clone();
        Ok(room
            .everyone()
            .map(|c| (c, ServerMessage::ParticipantUpdated { participant: participant.clone() }))
            .collect())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::signalling::rooms::{testing::*, *};
    use protocol::ErrorCode;

    #[test]
    pub(super) fn chat_reaches_everyone_and_late_joiners_get_history() {
        let mut r = rooms(4);
        let a = welcome_of(&join(&mut r, 1, "c", "Anna"), 1).0;
        join(&mut r, 2, "c", "Bob");
        let out = r.chat(ConnId(1), "  <b>Hallo</b>  ", 1000).expect("joined");
        assert_eq!(out.iter().map(|(c, _)| c.0).collect::<Vec<_>>(), [1, 2]);
        let ServerMessage::Chat { message } = &out[0].1 else { panic!("{out:?}") };
        assert_eq!(
            (message.from, message.name.as_str(), message.text.as_str()),
            (a, "Anna", "<b>Hallo</b>")
        );
        assert_eq!(r.chat(ConnId(1), " ", 0).map_err(|e| e.code()), Err(ErrorCode::InvalidChat));
        assert_eq!(r.chat(ConnId(9), "hi", 0), Err(RoomError::NotJoined));

        for n in 0..CHAT_HISTORY {
            r.chat(ConnId(2), &format!("m{n}"), 2000).expect("joined");
        }
        let out = join(&mut r, 3, "c", "Cem");
        let history = out
            .iter()
            .find_map(|(_, m)| match m {
                ServerMessage::Welcome { chat, .. } => Some(chat.clone()),
                _ => None,
            })
            .expect("welcome");
        assert_eq!(history.len(), CHAT_HISTORY, "only the most recent are kept");
        assert_eq!(history.last().map(|m| m.text.as_str()), Some("m99"));
        assert!(history.windows(2).all(|w| w[0].id < w[1].id));

        // The history goes with the room.
        for conn in 1..=3 {
            r.leave(ConnId(conn));
        }
        let out = join(&mut r, 4, "c", "Dana");
        assert!(
            out.iter()
                .any(|(_, m)| matches!(m, ServerMessage::Welcome { chat, .. } if chat.is_empty()))
        );
    }

    #[test]
    pub(super) fn hands_go_up_in_order_and_come_down() {
        let mut r = rooms(4);
        join(&mut r, 1, "h", "A");
        join(&mut r, 2, "h", "B");
        let hand_of = |out: &[Outgoing]| match &out[0].1 {
            ServerMessage::ParticipantUpdated { participant } => participant.hand,
            other => panic!("{other:?}"),
        };
        let out = r.hand(ConnId(2), true).expect("joined");
        assert_eq!(out.len(), 2, "everyone, the raiser included");
        let first = hand_of(&out);
        let second = hand_of(&r.hand(ConnId(1), true).expect("joined"));
        assert!(first < second);
        assert!(r.hand(ConnId(1), true).expect("joined").is_empty(), "raising twice is a no-op");
        assert_eq!(hand_of(&r.hand(ConnId(2), false).expect("joined")), None);
    }
}
