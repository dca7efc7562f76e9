//! The forwarding fast path: forwarded RTP is encrypted here and handed straight to the socket,
//! instead of walking `rtc`'s whole write pipeline (endpoint, interceptors, SRTP, DTLS, ICE,
//! demuxer) once per packet and subscriber. Profiles of the relay put that walk at about 40 %
//! of its time; the encryption itself is about 2 %.
//!
//! `rtc` 0.21 does not export a connection's SRTP keys. It does let each connection bring its
//! own crypto provider, and the SRTP key derivation (RFC 3711 §4.3) runs the master key and
//! master salt through that provider's AES block function. [`KeyTap`] wraps the built-in
//! provider and remembers those inputs. Which of them is the relay's own (outbound) key is then
//! proven, not guessed: a candidate is used only once it decrypts a packet that `rtc` itself
//! encrypted for this connection ([`KeyTap::outbound_context`]). Until then, and if no candidate
//! ever matches, packets take the slow path through `rtc`, so the fast path can never send
//! something the browser cannot decrypt.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicBool, Ordering},
};

use rtc::{
    crypto::{
        ActiveKeyExchange, AeadAlgorithm, AeadCipher, BlockCipherAlgorithm, CbcAlgorithm,
        CbcCipher, CryptoAlgorithm, CryptoError, HashAlgorithm, HmacAlgorithm,
        KeyExchangeAlgorithm, Mac, PublicKey, RTCCrypto, RTCCryptoProvider, RTCRandom,
        SignatureScheme, SigningKey, StreamCipher, StreamCipherAlgorithm,
    },
    srtp::{context::Context, protection_profile::ProtectionProfile},
};

/// How many distinct AES-128 keys a tap remembers: a connection derives two SRTP contexts
/// (outbound and inbound); anything past a handful is not SRTP.
const MAX_CANDIDATES: usize = 8;

/// A key and the first block encrypted with it, as the key derivation passed them. Wiped from
/// memory when dropped.
struct Candidate {
    key: Vec<u8>,
    first_block: [u8; 16],
}

impl Drop for Candidate {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.key.zeroize();
        self.first_block.zeroize();
    }
}

/// A crypto provider that behaves exactly like the built-in one and remembers the inputs of the
/// SRTP key derivation. One per connection.
pub struct KeyTap {
    inner: Arc<dyn RTCCryptoProvider>,
    candidates: Mutex<Vec<Candidate>>,
    /// Set by [`KeyTap::forget`]: nothing more is remembered.
    done: AtomicBool,
}

impl KeyTap {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn RTCCryptoProvider>) -> Self {
        Self { inner, candidates: Mutex::new(Vec::new()), done: AtomicBool::new(false) }
    }

    /// The connection's outbound SRTP context, if one of the remembered keys decrypts
    /// `protected`, an SRTP packet that `rtc` sent on this connection. The context returned is
    /// fresh: it encrypts exactly as `rtc`'s own does.
    pub fn outbound_context(&self, protected: &[u8]) -> Option<Context> {
        let candidates = self.candidates.lock().ok()?;
        let crypto = self.inner.crypto();
        for candidate in candidates.iter() {
            for profile in [
                ProtectionProfile::AeadAes128Gcm,
                ProtectionProfile::Aes128CmHmacSha1_80,
                ProtectionProfile::Aes128CmHmacSha1_32,
            ] {
                // The derivation's first block is the master salt, zero-padded (label 0,
                // index 0).
                let salt = &candidate.first_block[..profile.salt_len()];
                let context = || Context::new(&candidate.key, salt, profile, None, None, crypto);
                let Ok(mut probe) = context() else { continue };
                if probe.decrypt_rtp(protected).is_ok() {
                    return context().ok();
                }
            }
        }
        None
    }

    /// Forgets the remembered keys (once the outbound context is found).
    pub fn forget(&self) {
        self.done.store(true, Ordering::Release);
        if let Ok(mut candidates) = self.candidates.lock() {
            candidates.clear();
        }
    }

    fn remember(&self, key: &[u8], block: &[u8]) {
        if self.done.load(Ordering::Acquire) {
            return;
        }
        let (Ok(mut candidates), Ok(first_block)) =
            (self.candidates.lock(), <[u8; 16]>::try_from(block))
        else {
            return;
        };
        if candidates.len() < MAX_CANDIDATES && !candidates.iter().any(|c| c.key == key) {
            candidates.push(Candidate { key: key.to_vec(), first_block });
        }
    }
}

impl RTCCryptoProvider for KeyTap {
    fn name(&self) -> &'static str {
        "treffpunkt-key-tap"
    }

    fn crypto(&self) -> &dyn RTCCrypto {
        self
    }

    fn random(&self) -> &dyn RTCRandom {
        self.inner.random()
    }
}

impl RTCCrypto for KeyTap {
    fn supports(&self, algorithm: CryptoAlgorithm) -> bool {
        self.inner.crypto().supports(algorithm)
    }

    fn hash(&self, algorithm: HashAlgorithm, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.inner.crypto().hash(algorithm, data)
    }

    fn block_encrypt(
        &self,
        algorithm: BlockCipherAlgorithm,
        key: &[u8],
        block: &mut [u8],
    ) -> Result<(), CryptoError> {
        if algorithm == BlockCipherAlgorithm::Aes128 {
            self.remember(key, block);
        }
        self.inner.crypto().block_encrypt(algorithm, key, block)
    }

    fn new_hmac(&self, algorithm: HmacAlgorithm, key: &[u8]) -> Result<Box<dyn Mac>, CryptoError> {
        self.inner.crypto().new_hmac(algorithm, key)
    }

    fn new_stream_cipher(
        &self,
        algorithm: StreamCipherAlgorithm,
        key: &[u8],
    ) -> Result<Box<dyn StreamCipher>, CryptoError> {
        self.inner.crypto().new_stream_cipher(algorithm, key)
    }

    fn new_aead(
        &self,
        algorithm: AeadAlgorithm,
        key: &[u8],
    ) -> Result<Box<dyn AeadCipher>, CryptoError> {
        self.inner.crypto().new_aead(algorithm, key)
    }

    fn new_cbc(
        &self,
        algorithm: CbcAlgorithm,
        key: &[u8],
    ) -> Result<Box<dyn CbcCipher>, CryptoError> {
        self.inner.crypto().new_cbc(algorithm, key)
    }

    fn start_key_exchange(
        &self,
        algorithm: KeyExchangeAlgorithm,
    ) -> Result<Box<dyn ActiveKeyExchange>, CryptoError> {
        self.inner.crypto().start_key_exchange(algorithm)
    }

    fn generate_signing_key(
        &self,
        scheme: SignatureScheme,
    ) -> Result<Arc<dyn SigningKey>, CryptoError> {
        self.inner.crypto().generate_signing_key(scheme)
    }

    fn import_signing_key(
        &self,
        scheme: SignatureScheme,
        pkcs8_der: &[u8],
    ) -> Result<Arc<dyn SigningKey>, CryptoError> {
        self.inner.crypto().import_signing_key(scheme, pkcs8_der)
    }

    fn verify_signature(
        &self,
        scheme: SignatureScheme,
        public_key: PublicKey<'_>,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        self.inner.crypto().verify_signature(scheme, public_key, message, signature)
    }
}

/// Whether an outgoing datagram is SRTP (not SRTCP, STUN or DTLS): RFC 7983 for the first
/// byte, RFC 5761 for telling RTP from RTCP.
pub fn is_srtp(datagram: &[u8]) -> bool {
    matches!(datagram, [128..=191, second, ..] if !(192..=223).contains(second))
}

/// Whether an outgoing datagram is SRTP or SRTCP, i.e. goes to the connection's selected
/// address.
pub fn is_media(datagram: &[u8]) -> bool {
    matches!(datagram.first(), Some(128..=191))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use rtc::rtp::{header::Header, packet::Packet};
    use rtc::shared::marshal::Marshal;

    use super::*;

    fn provider() -> Arc<dyn RTCCryptoProvider> {
        rtc::crypto::default_provider().expect("the ring provider is built in")
    }

    fn plain_rtp(ssrc: u32, seq: u16) -> Vec<u8> {
        let packet = Packet {
            header: Header {
                version: 2,
                payload_type: 96,
                sequence_number: seq,
                timestamp: 3000,
                ssrc,
                ..Default::default()
            },
            payload: bytes::Bytes::from_static(&[7; 100]),
        };
        packet.marshal().expect("marshal").to_vec()
    }

    /// The tap learns the keys two contexts are made with, and only the one that encrypted a
    /// packet is accepted as the outbound context; it then encrypts byte for byte the same.
    #[test]
    fn finds_the_context_that_encrypted_a_packet() {
        for profile in [ProtectionProfile::AeadAes128Gcm, ProtectionProfile::Aes128CmHmacSha1_80] {
            let tap = KeyTap::new(provider());
            let salt_len = profile.salt_len();
            let (key_a, salt_a) = ([1u8; 16], vec![2u8; salt_len]);
            let (key_b, salt_b) = ([3u8; 16], vec![4u8; salt_len]);
            let mut ours = Context::new(&key_a, &salt_a, profile, None, None, &tap).expect("a");
            let mut theirs = Context::new(&key_b, &salt_b, profile, None, None, &tap).expect("b");

            let first = theirs.encrypt_rtp(&plain_rtp(9, 1)).expect("encrypt");
            let mut found = tap.outbound_context(&first).expect("found");
            // The found context continues the stream exactly like the original.
            let next = plain_rtp(9, 2);
            assert_eq!(
                found.encrypt_rtp(&next).expect("found encrypts"),
                theirs.encrypt_rtp(&next).expect("original encrypts"),
                "{profile:?}"
            );
            // And it is not the other key.
            let other = ours.encrypt_rtp(&plain_rtp(5, 1)).expect("encrypt");
            let mut found = tap.outbound_context(&first).expect("found");
            assert!(found.decrypt_rtp(&other).is_err(), "{profile:?}");
        }
    }

    #[test]
    fn garbage_finds_nothing() {
        let tap = KeyTap::new(provider());
        let _ =
            Context::new(&[1; 16], &[2; 12], ProtectionProfile::AeadAes128Gcm, None, None, &tap);
        assert!(tap.outbound_context(&plain_rtp(1, 1)).is_none());
        assert!(tap.outbound_context(&[0x80, 0x60]).is_none());
        tap.forget();
        assert!(tap.outbound_context(&plain_rtp(1, 1)).is_none());
    }

    #[test]
    fn once_forgotten_no_key_is_kept_again() {
        let tap = KeyTap::new(provider());
        let profile = ProtectionProfile::AeadAes128Gcm;
        tap.forget();
        // A context made after the tap gave up (a DTLS renegotiation, say) is not learnt.
        let mut later = Context::new(&[7; 16], &[8; 12], profile, None, None, &tap).expect("ctx");
        let packet = later.encrypt_rtp(&plain_rtp(3, 1)).expect("encrypt");
        assert!(tap.outbound_context(&packet).is_none());
        assert!(tap.candidates.lock().expect("lock").is_empty());
    }

    #[test]
    fn tells_srtp_from_srtcp_stun_and_dtls() {
        assert!(is_srtp(&[0x80, 0x60, 0, 0]));
        assert!(is_srtp(&[0x90, 0xE0, 0, 0])); // marker bit set, pt 96
        assert!(!is_srtp(&[0x80, 200, 0, 0])); // sender report
        assert!(!is_srtp(&[0x81, 205, 0, 0])); // NACK
        assert!(!is_srtp(&[0x00, 0x01, 0, 0])); // STUN binding request
        assert!(!is_srtp(&[22, 0xfe, 0xfd])); // DTLS handshake
        assert!(!is_srtp(&[]));
        assert!(is_media(&[0x81, 205]) && !is_media(&[22, 0xfe]));
    }
}
