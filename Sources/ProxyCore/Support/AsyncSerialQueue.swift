/// Runs async jobs one at a time, in call order: two reloads never interleave their applies.
actor AsyncSerialQueue {
    private var tail: Task<Void, Never>?

    func run<T: Sendable>(_ job: @escaping @Sendable () async throws -> T) async throws -> T {
        let previous = self.tail
        let task = Task<T, any Error> {
            await previous?.value
            return try await job()
        }
        self.tail = Task { _ = try? await task.value }
        return try await task.value
    }
}
