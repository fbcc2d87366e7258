#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs YAML composition on a thread with a large stack.
///
/// libyaml and Yams compose and free nested collections recursively; a hostile file of
/// `[[[[…` would otherwise overflow an 8 MiB stack and crash the process. The stack is reserved
/// address space, so memory is only committed as deep as a file actually nests.
enum LargeStack {
    static let size = 512 << 20

    static func run<T>(_ body: () -> T) -> T {
        let result = ResultBox<T>()
        withoutActuallyEscaping(body) { body in
            let job = Job { result.value = body() }
            if !job.runOnLargeStack(size: Self.size) {
                job.work()  // no thread to be had: a normal file needs no deep stack
            }
        }
        return result.value!
    }

    private final class ResultBox<T> {
        var value: T?
    }

    private final class Job {
        let work: () -> Void
        init(work: @escaping () -> Void) { self.work = work }

        func runOnLargeStack(size: Int) -> Bool {
            let attributes = UnsafeMutablePointer<pthread_attr_t>.allocate(capacity: 1)
            pthread_attr_init(attributes)
            defer {
                pthread_attr_destroy(attributes)
                attributes.deallocate()
            }
            pthread_attr_setstacksize(attributes, size)
            let context = Unmanaged.passRetained(self).toOpaque()
            #if canImport(Glibc)
            var thread: pthread_t = 0
            #else
            var thread: pthread_t?
            #endif
            let started = pthread_create(&thread, attributes, { raw in
                Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue().work()
                return nil
            }, context)
            guard started == 0 else {
                Unmanaged<Job>.fromOpaque(context).release()
                return false
            }
            #if canImport(Glibc)
            pthread_join(thread, nil)
            #else
            pthread_join(thread!, nil)
            #endif
            return true
        }
    }
}
