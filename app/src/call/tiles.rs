//! The tiles the views show, mirrored from the meeting.

use leptos::prelude::*;

use super::*;

impl Call {
    /// Mirrors the meeting into the reactive state, touching only what changed.
    pub(super) fn sync_tiles(&self) {
        let inner = self.inner.borrow();
        let meeting = &inner.meeting;
        let tiles: Vec<TileView> = meeting
            .others()
            .map(|r| TileView {
                id: r.info.id,
                name: r.info.name.clone(),
                media: r.info.media,
                link: r.link,
                hand: r.info.hand.is_some(),
                away: r.info.away,
                host: r.info.role == protocol::Role::Host,
                host_link: r.info.host_link,
                mic_locked: r.info.mic_locked,
                camera_withheld: meeting.camera_withheld(&r.info),
                listener: r.info.role == protocol::Role::Listener,
            })
            .collect();
        if self.view.tiles.with_untracked(|t| *t != tiles) {
            self.view.tiles.set(tiles);
        }
        let chat = meeting.chat();
        let newest = chat.messages().last().map(|m| m.id);
        let count = chat.messages().count();
        let changed =
            self.view.chat.with_untracked(|c| c.len() != count || c.last().map(|m| m.id) != newest);
        if changed {
            self.view.chat.set(chat.messages().cloned().collect());
        }
        if self.view.unread.get_untracked() != chat.unread() {
            self.view.unread.set(chat.unread());
        }
        let hands = meeting.raised_hands();
        if self.view.hands.with_untracked(|h| *h != hands) {
            self.view.hands.set(hands);
        }
        let own_hand = meeting.me().is_some_and(|me| me.hand.is_some());
        if self.view.own_hand.get_untracked() != own_hand {
            self.view.own_hand.set(own_hand);
        }
        if self.view.locked.get_untracked() != meeting.locked() {
            self.view.locked.set(meeting.locked());
        }
        if self.view.lobby.get_untracked() != meeting.lobby() {
            self.view.lobby.set(meeting.lobby());
        }
        if self.view.listening.get_untracked() != meeting.listening() {
            self.view.listening.set(meeting.listening());
        }
        if self.view.listeners.get_untracked() != meeting.listeners() {
            self.view.listeners.set(meeting.listeners());
        }
        if self.view.listener_chat.get_untracked() != meeting.listener_chat() {
            self.view.listener_chat.set(meeting.listener_chat());
        }
        let password = meeting.password().map(str::to_owned);
        if self.view.password.with_untracked(|p| *p != password) {
            self.view.password.set(password);
        }
        if self.view.cameras_to_hosts.get_untracked() != meeting.cameras_to_hosts() {
            self.view.cameras_to_hosts.set(meeting.cameras_to_hosts());
        }
        if self.view.waiting.with_untracked(|w| w.as_slice() != meeting.waiting()) {
            self.view.waiting.set(meeting.waiting().to_vec());
        }
        let own_mic_locked = meeting.me().is_some_and(|me| me.mic_locked);
        if self.view.own_mic_locked.get_untracked() != own_mic_locked {
            self.view.own_mic_locked.set(own_mic_locked);
        }
        let own_host = meeting.me().is_some_and(|me| me.role == protocol::Role::Host);
        if self.view.own_host.get_untracked() != own_host {
            self.view.own_host.set(own_host);
        }
        let own_host_link = meeting.me().is_some_and(|me| me.host_link);
        if self.view.own_host_link.get_untracked() != own_host_link {
            self.view.own_host_link.set(own_host_link);
        }
        let me = meeting.me().map(|m| m.id);
        if self.view.me.get_untracked() != me {
            self.view.me.set(me);
        }
    }
}
