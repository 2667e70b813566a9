//! A SQLite VFS that gathers the write-ahead log's writes into one `pwrite` per commit.
//!
//! SQLite writes each log frame with two calls, its 24-byte header and then its page, so a
//! commit of 57 pages made 114 `pwrite`s (now 2: see [`PIECE`]), and each cost the kernel a
//! page-cache lookup and an ext4 write-begin/write-end for every 4 KiB page it touched. They were
//! a fifth of the writer thread's time under creates (`bench/RESULTS.md`). This VFS is the
//! platform's own (`unix`) with one change: the `-wal` file keeps consecutive writes in a buffer,
//! and hands them to the real file in one call before anything that needs them there:
//!
//! - the end of a commit: the page of the frame whose header marks it as a commit's last (its
//!   bytes 4-7, the database's size after the commit, are zero in every other frame), and such
//!   a header written again behind the last commit's end (SQLite rewriting the checksums of a
//!   transaction that changed a page twice, which it does after the commit frame). SQLite
//!   publishes a commit to other connections only after those writes (and after syncing them
//!   with `synchronous=FULL`), so no reader and no recovery after a crash of this process ever
//!   looks for a frame still here, whatever the `synchronous` setting;
//! - `xSync`, `xRead`, `xFileSize`, `xTruncate`, `xFileControl` and `xClose` (the writer reading
//!   back a page it spilled, a checkpoint, the log's reset);
//! - a write that does not continue the buffer, or a buffer over [`MOST`].
//!
//! So the file holds exactly what it would without the buffer at every point where anyone can
//! look, and what SQLite syncs is what it wrote. A flush earlier than needed is always safe. A
//! failed flush is reported by the call that needed it, as SQLite would have heard of the
//! `pwrite`'s failure, and the frames are dropped: SQLite writes them again in its next attempt.

use std::ffi::{c_int, c_void, CStr};
use std::ptr;
use std::sync::OnceLock;

use rusqlite::ffi;

/// The VFS's name, for `Connection::open_with_flags_and_vfs`.
pub const NAME: &str = "tollgate-log";
const NAME_C: &CStr = c"tollgate-log";

/// Bytes kept before they are written anyway: a commit of a batch of 100 large resources stays
/// one call, and memory stays bounded.
const MOST: usize = 4 << 20;
/// The most the `unix` VFS writes in one call: it masks a write's length to 17 bits
/// (`seekAndWriteFd`), so a flush goes in pieces of 31 pages.
const PIECE: usize = 31 * 4096;
/// The buffer's capacity kept between commits (a commit of 15 creates is about 230 KiB).
const KEEP: usize = 1 << 20;
/// A log frame's header, written alone before its page.
const FRAME_HEADER: usize = 24;

/// Registers the VFS once per process; `false` if SQLite has no `unix` VFS to wrap.
pub fn register() -> bool {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    *REGISTERED.get_or_init(|| {
        // SAFETY: `sqlite3_vfs_find` returns a VFS that lives for the process, or null. Ours is
        // leaked, so it lives as long; SQLite serialises registration.
        unsafe {
            let real = ffi::sqlite3_vfs_find(c"unix".as_ptr());
            if real.is_null() {
                return false;
            }
            REAL.get_or_init(|| RealVfs(real));
            let mut vfs = *real;
            vfs.zName = NAME_C.as_ptr();
            vfs.pNext = ptr::null_mut();
            vfs.szOsFile = c_int::try_from(size_of::<LogFile>()).expect("small") + (*real).szOsFile;
            vfs.xOpen = Some(open);
            ffi::sqlite3_vfs_register(Box::into_raw(Box::new(vfs)), 0) == ffi::SQLITE_OK
        }
    })
}

/// The `unix` VFS, whose functions do the work.
struct RealVfs(*mut ffi::sqlite3_vfs);
// SAFETY: SQLite's VFS objects are immutable once registered and shared by every thread.
unsafe impl Send for RealVfs {}
// SAFETY: as above.
unsafe impl Sync for RealVfs {}
static REAL: OnceLock<RealVfs> = OnceLock::new();

/// The log file: SQLite's handle (its first field, so SQLite's pointer is ours), the real file
/// opened just after it in the same allocation, and the pending bytes.
#[repr(C)]
struct LogFile {
    base: ffi::sqlite3_file,
    real: *mut ffi::sqlite3_file,
    pending: Vec<u8>,
    /// The file offset of `pending[0]`.
    at: i64,
    /// The last write was a commit frame's header: the next one (its page) ends the commit.
    commit_next: bool,
    /// Where the last commit's frames end in the file.
    committed_to: i64,
}

static LOG_METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    // Version 1: no shared memory and no memory mapping, which SQLite uses only on the database.
    iVersion: 1,
    xClose: Some(close),
    xRead: Some(read),
    xWrite: Some(write),
    xTruncate: Some(truncate),
    xSync: Some(sync),
    xFileSize: Some(file_size),
    xLock: Some(lock),
    xUnlock: Some(unlock),
    xCheckReservedLock: Some(check_reserved_lock),
    xFileControl: Some(file_control),
    xSectorSize: Some(sector_size),
    xDeviceCharacteristics: Some(device_characteristics),
    xShmMap: None,
    xShmLock: None,
    xShmBarrier: None,
    xShmUnmap: None,
    xFetch: None,
    xUnfetch: None,
};

/// Opens every file with the real VFS; the `-wal` file behind a [`LogFile`].
unsafe extern "C" fn open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let real_vfs = REAL.get().expect("registered").0;
    let real_open = (*real_vfs).xOpen.expect("the unix VFS opens files");
    if flags & ffi::SQLITE_OPEN_WAL == 0 {
        // Any other file is the real one, at the start of the allocation.
        return real_open(real_vfs, name, file, flags, out_flags);
    }
    // SAFETY (for the whole function): SQLite allocated `szOsFile` bytes at `file`, 8-aligned:
    // a `LogFile` and then the real file's own size.
    let real = file.cast::<u8>().add(size_of::<LogFile>()).cast::<ffi::sqlite3_file>();
    let rc = real_open(real_vfs, name, real, flags, out_flags);
    if rc != ffi::SQLITE_OK {
        (*file).pMethods = ptr::null();
        return rc;
    }
    file.cast::<LogFile>().write(LogFile {
        base: ffi::sqlite3_file { pMethods: &raw const LOG_METHODS },
        real,
        pending: Vec::new(),
        at: 0,
        commit_next: false,
        committed_to: 0,
    });
    ffi::SQLITE_OK
}

/// The [`LogFile`] behind SQLite's pointer; only `LOG_METHODS` are given one.
unsafe fn log<'a>(file: *mut ffi::sqlite3_file) -> &'a mut LogFile {
    &mut *file.cast::<LogFile>()
}

impl LogFile {
    fn methods(&self) -> &ffi::sqlite3_io_methods {
        // SAFETY: the real file opened successfully, so its methods are set and live forever.
        unsafe { &*(*self.real).pMethods }
    }

    /// Writes the pending bytes to the real file, in pieces the `unix` VFS takes whole.
    fn flush(&mut self) -> c_int {
        let write = self.methods().xWrite.expect("files write");
        let mut rc = ffi::SQLITE_OK;
        let mut at = self.at;
        for piece in self.pending.chunks(PIECE) {
            let n = c_int::try_from(piece.len()).expect("a piece is under 128 KiB");
            // SAFETY: the real file is open; the piece is valid for `n` bytes.
            rc = unsafe { write(self.real, piece.as_ptr().cast(), n, at) };
            if rc != ffi::SQLITE_OK {
                break;
            }
            at += i64::from(n);
        }
        self.pending.clear();
        if self.pending.capacity() > KEEP {
            self.pending.shrink_to(KEEP);
        }
        rc
    }
}

unsafe extern "C" fn write(file: *mut ffi::sqlite3_file, data: *const c_void, n: c_int, at: i64) -> c_int {
    let log = log(file);
    let Ok(len) = usize::try_from(n) else { return ffi::SQLITE_IOERR_WRITE };
    let end = log.at.saturating_add(i64::try_from(log.pending.len()).unwrap_or(i64::MAX));
    if !log.pending.is_empty() && at != end {
        let rc = log.flush();
        if rc != ffi::SQLITE_OK {
            return rc;
        }
    }
    if log.pending.is_empty() {
        log.at = at;
    }
    let bytes = std::slice::from_raw_parts(data.cast::<u8>(), len);
    log.pending.extend_from_slice(bytes);
    let header = is_commit_header(bytes);
    let ends_commit = std::mem::replace(&mut log.commit_next, header);
    if ends_commit {
        log.committed_to = at.saturating_add(i64::from(n));
    }
    // A commit header behind the last commit's end is a rewrite (or the log started over, when
    // flushing early costs one write).
    if ends_commit || (header && at < log.committed_to) || log.pending.len() >= MOST {
        return log.flush();
    }
    ffi::SQLITE_OK
}

/// Whether `bytes` is a frame header that marks its frame as a commit's last: the database's
/// size in pages after the commit, at bytes 4-7, is not zero (SQLite's file format, section 4.1).
fn is_commit_header(bytes: &[u8]) -> bool {
    bytes.len() == FRAME_HEADER && bytes[4..8] != [0; 4]
}

unsafe extern "C" fn close(file: *mut ffi::sqlite3_file) -> c_int {
    let flushed = log(file).flush();
    let real = log(file).real;
    let closed = log(file).methods().xClose.map_or(ffi::SQLITE_OK, |close| close(real));
    ptr::drop_in_place(file.cast::<LogFile>());
    if flushed != ffi::SQLITE_OK {
        flushed
    } else {
        closed
    }
}

/// Defines each remaining method as the real file's, after a flush where the real call must
/// see every write (a flush's failure is then the call's).
macro_rules! forward {
    ($(fn $name:ident($($arg:ident: $ty:ty),*) = $method:ident, flush: $flush:literal;)*) => {$(
        unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file $(, $arg: $ty)*) -> c_int {
            let log = log(file);
            if $flush {
                let rc = log.flush();
                if rc != ffi::SQLITE_OK {
                    return rc;
                }
            }
            let real = log.real;
            log.methods().$method.expect(stringify!($method))(real $(, $arg)*)
        }
    )*};
}

forward! {
    fn read(data: *mut c_void, n: c_int, at: i64) = xRead, flush: true;
    fn truncate(size: i64) = xTruncate, flush: true;
    fn sync(flags: c_int) = xSync, flush: true;
    fn file_size(size: *mut i64) = xFileSize, flush: true;
    fn file_control(op: c_int, arg: *mut c_void) = xFileControl, flush: true;
    fn lock(level: c_int) = xLock, flush: false;
    fn unlock(level: c_int) = xUnlock, flush: false;
    fn check_reserved_lock(out: *mut c_int) = xCheckReservedLock, flush: false;
    fn sector_size() = xSectorSize, flush: false;
    fn device_characteristics() = xDeviceCharacteristics, flush: false;
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::{Connection, OpenFlags};

    /// A real file that records each write it is given, and fails them when told to.
    #[repr(C)]
    struct Recorder {
        base: ffi::sqlite3_file,
        writes: Vec<(i64, usize)>,
        syncs: u32,
        fail: bool,
    }

    unsafe extern "C" fn record_write(file: *mut ffi::sqlite3_file, _: *const c_void, n: c_int, at: i64) -> c_int {
        let r = &mut *file.cast::<Recorder>();
        if r.fail {
            return ffi::SQLITE_IOERR_WRITE;
        }
        r.writes.push((at, usize::try_from(n).unwrap()));
        ffi::SQLITE_OK
    }

    unsafe extern "C" fn record_sync(file: *mut ffi::sqlite3_file, _: c_int) -> c_int {
        (*file.cast::<Recorder>()).syncs += 1;
        ffi::SQLITE_OK
    }

    /// Only its writes and syncs are ever called (the `LogFile` under test forwards nothing else).
    static RECORDER: ffi::sqlite3_io_methods =
        ffi::sqlite3_io_methods { xWrite: Some(record_write), xSync: Some(record_sync), ..LOG_METHODS };

    /// Frames as SQLite writes them (a 24-byte header, then the page), a jump back, a sync, a
    /// commit larger than one piece, and a failing write, against a recording file.
    #[test]
    fn writes_are_gathered_until_a_sync_or_a_jump_and_a_failure_drops_them() {
        let mut real = Recorder {
            base: ffi::sqlite3_file { pMethods: &raw const RECORDER },
            writes: vec![],
            syncs: 0,
            fail: false,
        };
        let mut log = LogFile {
            base: ffi::sqlite3_file { pMethods: &raw const LOG_METHODS },
            real: (&raw mut real).cast(),
            pending: Vec::new(),
            at: 0,
            commit_next: false,
            committed_to: 0,
        };
        let file: *mut ffi::sqlite3_file = (&raw mut log).cast();
        let page = vec![7u8; 4096];
        let header = [0u8; FRAME_HEADER];
        // SAFETY: `file` is a `LogFile` over a live `Recorder`; the buffers outlive each call.
        unsafe {
            let frame = |at: i64| {
                assert_eq!(write(file, header.as_ptr().cast(), 24, at), ffi::SQLITE_OK);
                assert_eq!(write(file, page.as_ptr().cast(), 4096, at + 24), ffi::SQLITE_OK);
            };
            frame(32);
            frame(32 + 4120);
            assert!(recorder(file).writes.is_empty(), "nothing reaches the file before it must");
            // A write elsewhere (SQLite rewriting an earlier frame) sends what is pending first.
            assert_eq!(write(file, header.as_ptr().cast(), 24, 32), ffi::SQLITE_OK);
            assert_eq!(recorder(file).writes, [(32, 2 * 4120)]);
            assert_eq!(sync(file, 0), ffi::SQLITE_OK);
            assert_eq!(recorder(file).writes, [(32, 2 * 4120), (32, 24)]);
            assert_eq!(recorder(file).syncs, 1);
            // A commit of 40 frames: one buffer, written in pieces the unix VFS takes whole.
            recorder(file).writes.clear();
            for i in 0..40 {
                frame(32 + i * 4120);
            }
            assert_eq!(sync(file, 0), ffi::SQLITE_OK);
            let total: usize = recorder(file).writes.iter().map(|w| w.1).sum();
            assert_eq!(total, 40 * 4120);
            assert!(recorder(file).writes.iter().all(|w| w.1 <= PIECE), "{:?}", recorder(file).writes);
            assert_eq!(recorder(file).writes[1].0, 32 + i64::try_from(PIECE).unwrap());
            // A failed flush is the sync's failure, and its frames are gone: the next write starts
            // a buffer of its own.
            recorder(file).fail = true;
            frame(32);
            assert_eq!(sync(file, 0), ffi::SQLITE_IOERR_WRITE);
            assert_eq!(recorder(file).syncs, 2, "no sync after a failed write");
            recorder(file).fail = false;
            recorder(file).writes.clear();
            frame(32);
            assert_eq!(sync(file, 0), ffi::SQLITE_OK);
            assert_eq!(recorder(file).writes, [(32, 4120)]);
            // A commit's last frame (its header names the database's size) goes to the file as
            // soon as its page is written, with no sync to wait for.
            recorder(file).writes.clear();
            frame(32);
            let mut commit = [0u8; FRAME_HEADER];
            commit[4..8].copy_from_slice(&9u32.to_be_bytes());
            assert_eq!(write(file, commit.as_ptr().cast(), 24, 32 + 4120), ffi::SQLITE_OK);
            assert!(recorder(file).writes.is_empty(), "the header alone is not the commit's end");
            assert_eq!(write(file, page.as_ptr().cast(), 4096, 32 + 4120 + 24), ffi::SQLITE_OK);
            assert_eq!(recorder(file).writes, [(32, 2 * 4120)]);
            // Its checksums rewritten (SQLite's last writes for that commit): the commit frame's
            // header, behind the commit's end, goes out at once.
            assert_eq!(write(file, header.as_ptr().cast(), 24, 32), ffi::SQLITE_OK);
            assert_eq!(write(file, commit.as_ptr().cast(), 24, 32 + 4120), ffi::SQLITE_OK);
            assert_eq!(recorder(file).writes, [(32, 2 * 4120), (32, 24), (32 + 4120, 24)]);
            recorder(file).writes.clear();
            frame(32 + 2 * 4120);
            frame(32 + 3 * 4120);
            assert!(recorder(file).writes.len() <= 1, "the next transaction's frames wait again");
            assert_eq!(sync(file, 0), ffi::SQLITE_OK);
            let total: usize = recorder(file).writes.iter().map(|w| w.1).sum();
            assert_eq!(total, 2 * 4120);
        }
    }

    /// The recorder behind a test's `LogFile`.
    unsafe fn recorder<'a>(file: *mut ffi::sqlite3_file) -> &'a mut Recorder {
        &mut *log(file).real.cast::<Recorder>()
    }

    fn count(conn: &Connection) -> i64 {
        conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap()
    }

    /// What a crash would leave: the database and its log copied as they are on disk now.
    fn count_in_a_copy(dir: &std::path::Path) -> (i64, String) {
        let copy = tempfile::tempdir().unwrap();
        for name in ["t.db", "t.db-wal"] {
            std::fs::copy(dir.join(name), copy.path().join(name)).unwrap();
        }
        let conn = Connection::open(copy.path().join("t.db")).unwrap();
        let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        (count(&conn), check)
    }

    /// Whether a connection's log is written through a [`LogFile`].
    fn log_is_gathered(conn: &Connection) -> bool {
        let mut file: *mut ffi::sqlite3_file = ptr::null_mut();
        // SAFETY: SQLITE_FCNTL_JOURNAL_POINTER writes the open log's (or journal's) handle, which
        // lives as long as the connection, to the pointer.
        unsafe {
            let rc = ffi::sqlite3_file_control(
                conn.handle(),
                c"main".as_ptr(),
                ffi::SQLITE_FCNTL_JOURNAL_POINTER,
                (&raw mut file).cast(),
            );
            assert_eq!(rc, ffi::SQLITE_OK);
            !file.is_null() && ptr::eq((*file).pMethods, &raw const LOG_METHODS)
        }
    }

    /// With either `synchronous` setting: under `NORMAL` a commit makes no sync, and its frames
    /// reach the file at its last frame.
    #[test]
    fn every_commit_is_in_the_files_when_it_returns_whatever_the_writer_did_before() {
        for synchronous in ["FULL", "NORMAL"] {
            commits_reach_the_files(synchronous);
        }
    }

    fn commits_reach_the_files(synchronous: &str) {
        assert!(register());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let w = Connection::open_with_flags_and_vfs(&path, OpenFlags::default(), NAME).unwrap();
        // A cache of 10 pages: a transaction of many rows spills frames into the log before its
        // commit and reads them back; a checkpoint every 50 pages reads the log and starts it over.
        w.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; PRAGMA cache_size = 10;
             PRAGMA wal_autocheckpoint = 50; CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB NOT NULL)"
        ))
        .unwrap();
        assert!(log_is_gathered(&w));
        let reader = Connection::open(&path).unwrap();
        assert!(!log_is_gathered(&reader));
        let (mut expected, mut next) = (0, 0);
        for round in 0..40 {
            let rows = (round % 7 + 1) * 20;
            w.execute_batch("BEGIN IMMEDIATE").unwrap();
            for _ in 0..rows {
                w.execute("INSERT INTO t (k, v) VALUES (?1, randomblob(3000))", [next]).unwrap();
                next += 1;
            }
            // Pages written before, changed again: frames rewritten in place.
            w.execute("UPDATE t SET v = randomblob(2000) WHERE k % 13 = ?1", [round % 13]).unwrap();
            if round % 5 == 4 {
                w.execute_batch("ROLLBACK").unwrap();
            } else {
                w.execute_batch("COMMIT").unwrap();
                expected += rows;
            }
            assert_eq!(count(&reader), expected, "{synchronous}: a reader through the plain VFS, round {round}");
            if round % 4 == 0 {
                let copy = count_in_a_copy(dir.path());
                assert_eq!(copy, (expected, "ok".to_owned()), "{synchronous}: round {round}");
            }
        }
        drop(w);
        let check: String = reader.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!((count(&reader), check.as_str()), (expected, "ok"));
    }
}
