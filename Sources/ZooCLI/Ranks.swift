import Foundation
import RNNEngine
import ZooMPI

/// The processes of this `zoo`: one, or the ranks of an `mpirun` job (data-parallel training).
/// Under mpirun, rank 0 alone prints and writes; the others' standard output is discarded and
/// their error messages name their rank.
enum Ranks {
    /// Set when `mpirun` started this process; MPI is initialised on first use.
    static let mpi: MPICommunicator? = MPICommunicator.isLaunchedByMPI ? MPICommunicator() : nil

    static var communicator: any Communicator { mpi ?? SingleProcess() }
    static var isRoot: Bool { (mpi?.rank ?? 0) == 0 }

    /// Initialises MPI under mpirun and silences the standard output of every rank but 0.
    static func start() {
        guard let mpi, mpi.rank != 0 else { return }
        let null = open("/dev/null", O_WRONLY)
        if null >= 0 { dup2(null, STDOUT_FILENO) }
    }

    /// Runs `make` once per host (the host's first rank: the data sets zoo generates), while
    /// the other ranks wait for it.
    static func oncePerHost<T>(_ make: () throws -> T) rethrows -> T {
        guard let mpi else { return try make() }
        let localRank = Int(ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_RANK"] ?? "0") ?? 0
        if localRank == 0 {
            let result = try make()
            mpi.barrier()
            return result
        }
        mpi.barrier()
        return try make()
    }

    /// Rank 0's bytes on every rank (a resumed run's settings, which only rank 0 reads).
    static func fromRoot(_ bytes: [UInt8]) -> [UInt8] {
        var bytes = bytes
        mpi?.broadcast(&bytes, from: 0)
        return bytes
    }

    /// A rank's last words: its message (naming the rank), then the end of it. An interrupted
    /// or finished run leaves MPI cleanly; any other failure ends every rank of the job, since
    /// the others may be waiting in a collective this one will never join.
    static func exit(message: String, code: Int32, interrupted: Bool) -> Never {
        if !message.isEmpty {
            let prefix = (mpi.map { $0.rank == 0 } ?? true) ? "" : "rank \(mpi!.rank): "
            FileHandle.standardError.write(Data((prefix + message + "\n").utf8))
        }
        guard let mpi else { Foundation.exit(code) }
        if code == 0 || interrupted {
            // Together: mpirun ends the job as soon as one rank exits with a failure status,
            // and an interrupted rank 0 may still be writing its checkpoint.
            mpi.barrier()
            mpi.finish()
            Foundation.exit(code)
        }
        mpi.abort(code: code)
    }

    /// A normal end: leaves MPI (every rank reaches it).
    static func finish() { mpi?.finish() }
}
