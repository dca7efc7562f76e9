//! Camera and microphone opened on the pre-join screen and handed to the meeting.
//!
//! The browser answers `getUserMedia` whenever it likes: after a second, after the person has
//! clicked through a permission prompt, or after they pressed "Join" and the pre-join screen is
//! gone. So what is being opened lives here, in a plain `Rc` outside the reactive graph, and not
//! in the pre-join component: an answer that arrives late finds this state alive, and goes to
//! whoever needs it now — the preview, the meeting that was joined meanwhile, or nobody (then its
//! tracks are stopped at once, so no camera light stays on).

use std::{cell::RefCell, rc::Rc};

use client::errors::{MediaError, UserError};
use futures_channel::oneshot;
use web_sys::MediaStream;

use crate::media::{self, LocalMedia, MediaRequest};

/// What an opening gave: the tracks that opened, and the first error met.
pub type Opened = (LocalMedia, Option<UserError>);

/// The pre-join screen's devices; cheap to clone (one shared state).
#[derive(Clone, Default)]
pub struct Prepared(Rc<RefCell<State>>);

#[derive(Default)]
struct State {
    /// Bumped by every opening and by `release`: an answer for an older one is stopped.
    generation: u64,
    /// An opening is waiting for the browser.
    opening: bool,
    /// The newest answer, while the pre-join screen shows it.
    current: Option<Opened>,
    /// `None` until "Join"; then `Some`, holding where an answer still to come is sent once the
    /// meeting waits for it.
    joined: Option<Option<oneshot::Sender<Opened>>>,
}

impl Prepared {
    /// (Re)opens the devices `request` names, replacing what was open. Returns the preview and
    /// the error to show, or `None` when the answer is no longer the pre-join screen's (another
    /// opening replaced it, the person joined, or the screen was left).
    pub async fn open(
        &self,
        request: MediaRequest,
    ) -> Option<(Option<MediaStream>, Option<UserError>)> {
        let generation = {
            let mut state = self.0.borrow_mut();
            if state.joined.is_some() {
                return None;
            }
            if let Some((mut old, _)) = state.current.take() {
                old.stop();
            }
            state.generation += 1;
            state.opening = true;
            state.generation
        };
        let (mut opened, error) = media::acquire(&request).await;
        let mut state = self.0.borrow_mut();
        if state.generation != generation {
            opened.stop();
            return None;
        }
        state.opening = false;
        if let Some(joined) = state.joined.as_mut() {
            match joined.take() {
                Some(meeting) => {
                    if let Err((mut unwanted, _)) = meeting.send((opened, error)) {
                        unwanted.stop();
                    }
                }
                // Joined, and the meeting has not asked yet: it finds them here.
                None => state.current = Some((opened, error)),
            }
            return None;
        }
        let preview = opened.preview_stream();
        state.current = Some((opened, error.clone()));
        Some((preview, error))
    }

    /// "Join": from now on the devices are the meeting's (`keep`), or stopped ("join without
    /// camera and microphone"). Later openings are refused.
    pub fn join(&self, keep: bool) {
        let mut state = self.0.borrow_mut();
        if state.joined.is_some() {
            return;
        }
        state.joined = Some(None);
        if !keep {
            state.generation += 1;
            state.opening = false;
            if let Some((mut media, _)) = state.current.take() {
                media.stop();
            }
        }
    }

    /// The meeting takes the devices, waiting for them if they are still opening; nothing if
    /// they were never opened or not kept.
    pub async fn take(&self) -> Opened {
        let answer = {
            let mut state = self.0.borrow_mut();
            if let Some(opened) = state.current.take() {
                return opened;
            }
            if !state.opening {
                return (LocalMedia::default(), None);
            }
            let (send, receive) = oneshot::channel();
            state.joined = Some(Some(send));
            receive
        };
        // The opening always answers: its task holds this state until the browser does.
        answer
            .await
            .unwrap_or_else(|_| (LocalMedia::default(), Some(UserError::Media(MediaError::Other))))
    }

    /// The pre-join screen is gone without joining: stops what is open and what is opening.
    pub fn release(&self) {
        let mut state = self.0.borrow_mut();
        if state.joined.is_some() {
            return;
        }
        state.generation += 1;
        state.opening = false;
        if let Some((mut media, _)) = state.current.take() {
            media.stop();
        }
    }
}
