import Foundation
import PyreCore
import Synchronization
import PyrePOSIX

#if canImport(Glibc)
import Glibc
#endif

/// Where the SQLite store makes appends durable: segment files of ``CommitLogRecord`` frames in
/// a directory next to the database, `FIRST-POSITION.log` (20 digits, so names sort in order).
///
/// A group commit is one frame, on disk before anyone is answered (``CommitLogSegmentFile``).
/// Segments are written whole with zeros when created, so that making a frame durable flushes
/// data only: no file size or block map changes, no journal commit of the file system. The
/// SQLite tables catch up afterwards (``CommitLogApplier``); a segment is deleted once SQLite
/// holds its appends durably.
///
/// A `lock` file keeps a second store (another process) off the same log.
final class CommitLog: Sendable {
    let directory: URL
    /// Bytes allocated per segment; a group commit larger than this gets a segment of its own.
    static let segmentSize = 16 << 20
    static let suffix = ".log"

    private struct Segment {
        var path: String
        var lastPosition: Int64
    }

    private struct Active {
        var file: CommitLogSegmentFile
        var lastPosition: Int64?
    }

    private struct State {
        var sealed: [Segment] = []
        var active: Active?
        /// Set when a write or sync failed: what the file holds is then unknown, so nothing more is written.
        var broken: PyreError?
        var lockDescriptor: Int32
    }

    private let state: Mutex<State>
    /// False only in tests of the page-cache path, which file systems without `O_DIRECT` take.
    private let directIO: Bool

    /// Opens (creating) the directory and takes its lock. It waits for the lock only briefly
    /// (``lock(_:)``): a store's ``close()`` lets go of it at once, and a longer wait would
    /// block a thread of the caller's executor, which the store holding the lock may need to
    /// finish its work.
    init(directory: URL, directIO: Bool = true) throws {
        self.directory = directory
        self.directIO = directIO
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw PyreError(.events, "cannot create the commit log directory \(directory.path): "
                + "\(error.localizedDescription); check that it is writable")
        }
        let lockPath = directory.appendingPathComponent("lock").path
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw Self.failure("cannot open \(lockPath)") }
        guard Self.lock(descriptor) else {
            Glibc.close(descriptor)
            throw PyreError(.events, "the event store at \(directory.deletingLastPathComponent().path) is already "
                + "open (its commit log \(directory.path) is locked): stop the other process using it (another "
                + "agent?), or close the store before opening it again")
        }
        state = Mutex(State(lockDescriptor: descriptor))
    }

    /// Every append the segments hold, in order, up to the first frame that is not whole
    /// (a write cut short by a crash, which was never acknowledged).
    func recover() throws -> [LoggedAppend] {
        var appends: [LoggedAppend] = []
        for path in try segmentPaths() {
            guard let contents = FileManager.default.contents(atPath: path) else {
                throw PyreError(.events, "cannot read the commit log segment \(path); check its permissions")
            }
            var offset = 0
            scan: while true {
                let frame = contents.withUnsafeBytes { CommitLogRecord.frame(in: $0, at: offset) }
                switch frame {
                case .appends(let found, let size):
                    appends += found
                    offset += size
                case .end, .torn:
                    break scan
                }
            }
        }
        return appends
    }

    /// Deletes every segment (SQLite holds their appends durably) and starts an empty one.
    func restart(at nextPosition: Int64) throws {
        try state.withLock { state in
            state.active?.file.close()
            state.active = nil
            state.sealed = []
            for path in try segmentPaths() { unlink(path) }
            state.active = try createSegment(firstPosition: nextPosition)
        }
    }

    /// Writes one frame holding `appends` (in position order) and syncs it: when this returns,
    /// they survive a crash.
    func write(_ appends: [LoggedAppend]) throws {
        guard let first = appends.first, let last = appends.last else { return }
        let frame = CommitLogRecord.encode(appends)
        try state.withLock { state in
            if let broken = state.broken { throw broken }
            guard var active = state.active else {
                throw PyreError(.events, "the event store at \(directory.deletingLastPathComponent().path) is closed: "
                    + "open it again to append")
            }
            if active.file.offset > 0, active.file.offset + frame.count > Self.segmentSize {
                active.file.close()
                state.active = nil
                state.sealed.append(Segment(path: active.file.path,
                                            lastPosition: active.lastPosition ?? first.firstPosition - 1))
                do {
                    active = try createSegment(firstPosition: first.firstPosition)
                } catch let error as PyreError {
                    state.broken = error
                    throw error
                }
                state.active = active
            }
            guard frame.withUnsafeBytes(active.file.append) else {
                let error = Self.failure("cannot write the commit log segment \(active.file.path)")
                state.broken = error
                throw error
            }
            active.lastPosition = last.lastPosition
            state.active = active
        }
    }

    /// The last position of the newest full segment, nil when there is none: once SQLite holds
    /// everything up to it durably, ``discard(through:)`` may delete it.
    var sealedThrough: Int64? { state.withLock { $0.sealed.last?.lastPosition } }

    /// Deletes the full segments whose appends all have positions up to `position`.
    func discard(through position: Int64) {
        state.withLock { state in
            while let oldest = state.sealed.first, oldest.lastPosition <= position {
                unlink(oldest.path)
                state.sealed.removeFirst()
            }
        }
    }

    /// Closes the files and lets go of the lock.
    /// Takes the lock, trying for up to half a second: a child that another thread is forking
    /// holds a copy of the descriptor (and so the lock) until it execs, even after the store
    /// that opened it has closed it. Seen once in a release test run, reopening a closed store.
    private static func lock(_ descriptor: Int32) -> Bool {
        for _ in 0..<50 {
            if flock(descriptor, LOCK_EX | LOCK_NB) == 0 { return true }
            guard errno == EWOULDBLOCK else { return false }
            usleep(10_000)
        }
        return false
    }

    func close() {
        state.withLock { state in
            state.active?.file.close()
            state.active = nil
            if state.lockDescriptor >= 0 { Glibc.close(state.lockDescriptor) }
            state.lockDescriptor = -1
        }
    }

    deinit { close() }

    private func segmentPaths() throws -> [String] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw PyreError(.events, "cannot list the commit log directory \(directory.path): \(error.localizedDescription)")
        }
        return names.filter { $0.hasSuffix(Self.suffix) && $0.count == 20 + Self.suffix.count }.sorted()
            .map { directory.appendingPathComponent($0).path }
    }

    private func createSegment(firstPosition: Int64) throws -> Active {
        let path = directory.appendingPathComponent(String(format: "%020lld", firstPosition) + Self.suffix).path
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw Self.failure("cannot create the commit log segment \(path)") }
        // Written with zeros (which end a segment's frames), not only allocated: a write into an
        // allocated but unwritten extent changes the file's block map, and its fdatasync then
        // waits for a journal commit that also flushes whatever other files the store is writing.
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        let written = zeros.withUnsafeBytes { bytes in
            (0..<(Self.segmentSize / zeros.count)).allSatisfy { _ in FileDescriptors.writeAll(bytes, to: descriptor) }
        }
        guard written, fsync(descriptor) == 0 else {
            Glibc.close(descriptor)
            unlink(path)
            throw Self.failure("cannot allocate the commit log segment \(path)")
        }
        FileDescriptors.syncDirectory(of: path)
        return Active(file: CommitLogSegmentFile(path: path, buffered: descriptor, directIO: directIO))
    }

    private static func failure(_ what: String) -> PyreError {
        let reason = String(cString: strerror(errno))
        let hint = errno == ENOSPC ? "; free disk space" : "; check the disk and the directory's permissions"
        return PyreError(.events, "\(what): \(reason)\(hint)")
    }
}
