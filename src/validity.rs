//! Validity periods: days → `notBefore`/`notAfter`, checked.
//!
//! - `notBefore` is backdated by [`BACKDATE`] (five minutes) so that a node whose clock is a
//!   little behind the CA host's still accepts a certificate issued just now. `notAfter` is
//!   counted from the real issuing time, so a certificate of `N` days is valid `N` days from now.
//! - The encoding follows RFC 5280 §4.1.2.5: `UTCTime` through 2049, `GeneralizedTime` from 2050
//!   (x509-cert's builder picks it).
//! - A leaf never outlives its CA: its `notAfter` is clamped to the CA's `notAfter` (a verifier
//!   would reject the chain after the CA expires anyway). The script does not do this.

use std::time::{Duration, SystemTime};

use x509_cert::time::{Time, Validity};

use crate::error::Error;

/// How far `notBefore` is set before the issuing time, against clock skew between hosts.
pub const BACKDATE: Duration = Duration::from_secs(5 * 60);

/// The default validity, in days, as in `gen_etcd_certs.py`.
pub const DEFAULT_DAYS: u32 = 3650;

const SECONDS_PER_DAY: u64 = 86_400;

/// The validity window of a certificate issued at `now` for `days` days, never ending after
/// `cap` (the issuer's `notAfter`), if given.
pub(crate) fn window(
    days: u32,
    now: SystemTime,
    cap: Option<SystemTime>,
) -> Result<Validity, Error> {
    let fail = |reason| Error::InvalidValidity {
        days: u64::from(days),
        reason,
    };
    if days == 0 {
        return Err(fail("a certificate must be valid for at least 1 day"));
    }
    let not_after = now
        .checked_add(Duration::from_secs(u64::from(days) * SECONDS_PER_DAY))
        .ok_or_else(|| fail("the end date would be after 9999-12-31"))?;
    let not_after = match cap {
        Some(cap) if cap < not_after => cap,
        _ => not_after,
    };
    let not_before = now.checked_sub(BACKDATE).unwrap_or(now);
    let not_after =
        Time::try_from(not_after).map_err(|_| fail("the end date would be after 9999-12-31"))?;
    let not_before =
        Time::try_from(not_before).map_err(|_| fail("the start date is not representable"))?;
    Ok(Validity::new(not_before, not_after))
}

/// Formats a certificate time as RFC 3339 (`2035-01-02T03:04:05Z`).
pub(crate) fn rfc3339(time: Time) -> String {
    let dt = time.to_date_time();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minutes(),
        dt.seconds()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_days_is_refused() {
        let e = window(0, SystemTime::now(), None).unwrap_err();
        assert!(matches!(e, Error::InvalidValidity { days: 0, .. }));
    }

    #[test]
    fn too_far_is_refused() {
        let e = window(u32::MAX, SystemTime::now(), None).unwrap_err();
        assert!(e.to_string().contains("9999-12-31"), "{e}");
        // 8000 years is past 9999 too.
        assert!(window(8000 * 366, SystemTime::now(), None).is_err());
    }

    #[test]
    fn backdated_start_and_exact_end() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let v = window(10, now, None).unwrap();
        assert_eq!(
            v.not_before.to_system_time(),
            now - BACKDATE,
            "notBefore is backdated"
        );
        assert_eq!(
            v.not_after.to_system_time(),
            now + Duration::from_secs(10 * SECONDS_PER_DAY)
        );
    }

    #[test]
    fn clamped_to_the_issuer() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let cap = now + Duration::from_secs(3 * SECONDS_PER_DAY);
        let v = window(3650, now, Some(cap)).unwrap();
        assert_eq!(v.not_after.to_system_time(), cap);
    }

    #[test]
    fn formats_as_rfc3339() {
        let t = Time::try_from(SystemTime::UNIX_EPOCH + Duration::from_secs(86_400 + 61)).unwrap();
        assert_eq!(rfc3339(t), "1970-01-02T00:01:01Z");
    }
}
