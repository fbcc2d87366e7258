import Foundation
import Testing
@testable import RegistryMirror

/// Tag answers: fresh within the TTL, stale (kept for serving on upstream failure) after it, bounded in number.
@Suite struct TagCacheTests {
    let digestA = Digest(parsing: "sha256:" + String(repeating: "a", count: 64))!
    let digestB = Digest(parsing: "sha256:" + String(repeating: "b", count: 64))!

    func key(_ upstream: String = "docker.io", _ name: String = "library/alpine", _ tag: String = "latest") -> TagCache.Key {
        TagCache.Key(upstream: upstream, repository: RepositoryName(parsing: name)!, tag: Tag(parsing: tag)!)
    }

    @Test func answersAreFreshForTheTTLThenStaleAndReplacedByTheNextAnswer() async {
        let cache = TagCache()
        let start = Date(timeIntervalSince1970: 1_000_000)
        #expect(await cache.lookup(self.key(), now: start) == .unknown)
        await cache.store(self.digestA, for: self.key(), ttl: 300, now: start)
        #expect(await cache.lookup(self.key(), now: start.addingTimeInterval(299)) == .fresh(self.digestA))
        #expect(await cache.lookup(self.key(), now: start.addingTimeInterval(300)) == .stale(self.digestA))
        await cache.store(self.digestB, for: self.key(), ttl: 300, now: start.addingTimeInterval(400))
        #expect(await cache.lookup(self.key(), now: start.addingTimeInterval(401)) == .fresh(self.digestB))
        await cache.store(self.digestA, for: self.key(), ttl: 0, now: start.addingTimeInterval(500))
        #expect(await cache.lookup(self.key(), now: start.addingTimeInterval(500)) == .stale(self.digestA))
    }

    @Test func theStaleWhileRevalidateWindowFollowsTheTTLAndOneRefreshRunsAtATime() async {
        let cache = TagCache()
        let start = Date(timeIntervalSince1970: 1_000_000)
        await cache.store(self.digestA, for: self.key(), ttl: 60, staleWhileRevalidate: 600, now: start)
        #expect(await cache.lookup(self.key(), now: start.addingTimeInterval(59)) == .fresh(self.digestA))
        #expect(await cache.lookup(self.key(), now: start.addingTimeInterval(60)) == .revalidate(self.digestA))
        #expect(await cache.lookup(self.key(), now: start.addingTimeInterval(659)) == .revalidate(self.digestA))
        #expect(await cache.lookup(self.key(), now: start.addingTimeInterval(660)) == .stale(self.digestA))
        #expect(await cache.beginRefresh(self.key()))
        #expect(await !cache.beginRefresh(self.key()))
        #expect(await cache.beginRefresh(self.key("quay.io")))
        await cache.endRefresh(self.key())
        #expect(await cache.beginRefresh(self.key()))
    }

    @Test func theSameTagOnAnotherUpstreamOrRepositoryIsAnotherAnswer() async {
        let cache = TagCache()
        await cache.store(self.digestA, for: self.key("docker.io"), ttl: 60)
        #expect(await cache.lookup(self.key("quay.io")) == .unknown)
        #expect(await cache.lookup(self.key("docker.io", "library/busybox")) == .unknown)
        #expect(await cache.lookup(self.key("docker.io", "library/alpine", "3.20")) == .unknown)
        await cache.forget(self.key("docker.io"))
        #expect(await cache.lookup(self.key("docker.io")) == .unknown)
    }

    @Test func aFullCacheDropsItsOldestAnswersFirst() async {
        let cache = TagCache(capacity: 20)
        let start = Date(timeIntervalSince1970: 1_000_000)
        for index in 0..<20 {
            await cache.store(self.digestA, for: self.key(tag: "t\(index)"), ttl: 60, now: start.addingTimeInterval(Double(index)))
        }
        await cache.store(self.digestB, for: self.key(tag: "new"), ttl: 60, now: start.addingTimeInterval(30))
        #expect(await cache.count == 19)
        #expect(await cache.lookup(self.key(tag: "t0"), now: start) == .unknown)
        #expect(await cache.lookup(self.key(tag: "t1"), now: start) == .unknown)
        #expect(await cache.lookup(self.key(tag: "t2"), now: start) == .fresh(self.digestA))
        #expect(await cache.lookup(self.key(tag: "new"), now: start.addingTimeInterval(30)) == .fresh(self.digestB))
        // Replacing an answer already held evicts nothing.
        await cache.store(self.digestA, for: self.key(tag: "new"), ttl: 60, now: start.addingTimeInterval(31))
        #expect(await cache.count == 19)
    }

    func key(tag: String) -> TagCache.Key { self.key("docker.io", "library/alpine", tag) }
}
