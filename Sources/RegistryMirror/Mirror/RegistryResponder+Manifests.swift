import Foundation
import NIOCore
import NIOHTTP1
import ProxyCore

/// Manifests: tags resolve to digests (HEAD upstream with every media type, cached for the upstream's tag TTL,
/// the last known digest served with a warning when the upstream fails); digests are immutable and served from
/// the store, fetched once. The stored bytes are negotiated locally against the client's Accept, never converted.
extension RegistryResponder {
    func manifest(_ reference: ManifestReference, name: RepositoryName, upstream: UpstreamRegistry,
                  request: ResponderRequest) async throws -> ResponderResponse {
        var warning: String?
        let digest: Digest
        var fromCache = true
        switch reference {
        case .digest(let value):
            digest = value
        case .tag(let tag):
            let key = TagCache.Key(upstream: upstream.name, repository: name, tag: tag)
            var lookup = await upstream.tags.lookup(key)
            if lookup == .unknown, let known = self.cache.tags.load(key) {
                // Known from before a restart: fresh or stale by when the upstream last confirmed it.
                await upstream.rememberTag(known.digest, for: key, at: known.confirmed)
                lookup = await upstream.tags.lookup(key)
            }
            switch lookup {
            case .fresh(let known):
                digest = known
            case .revalidate(let known):
                digest = known
                upstream.stats.tagRevalidations.increment()
                self.revalidate(tag, known: known, name: name, upstream: upstream, key: key)
            case .stale(let known):
                do {
                    digest = try await self.resolveTag(tag, name: name, upstream: upstream, key: key)
                    fromCache = false
                } catch let error as RegistryError where error.code == .manifestUnknown {
                    await upstream.tags.forget(key)
                    self.cache.tags.remove(key)
                    throw error
                } catch {
                    upstream.stats.staleServed.increment()
                    digest = known
                    warning = "299 - \"mirrord: served a cached digest for \(tag); the upstream failed: \(Self.summary(error))\""
                }
            case .unknown:
                digest = try await self.resolveTag(tag, name: name, upstream: upstream, key: key)
                fromCache = false
            }
        }
        let manifest: ManifestStore.Manifest
        if let stored = self.cache.manifests.lookup(digest) {
            manifest = stored
            upstream.stats.cacheHits.increment()
        } else {
            manifest = try await self.fetchManifest(digest, name: name, upstream: upstream)
            upstream.stats.cacheMisses.increment()
            fromCache = false
        }
        if ManifestMediaTypes.accepts(manifest.mediaType, accept: request.headers[canonicalForm: "accept"].map(String.init)) == false {
            throw RegistryError(.manifestUnknown, "the manifest is \(manifest.mediaType), which the request's Accept does not admit")
        }
        var headers = Self.contentHeaders(digest: digest, mediaType: manifest.mediaType)
        headers.add(name: "content-length", value: String(manifest.bytes.readableBytes))
        if let warning { headers.add(name: "warning", value: warning) }
        if request.method == .GET { upstream.stats.bytesFromCache.increment(by: manifest.bytes.readableBytes) }
        return ResponderResponse(status: .ok, headers: headers, body: request.method == .HEAD ? .empty : .bytes(manifest.bytes),
                                 flag: fromCache ? "HIT" : "MISS")
    }

    /// HEAD upstream with every manifest media type: the digest without spending a rate-limited GET.
    private func resolveTag(_ tag: Tag, name: RepositoryName, upstream: UpstreamRegistry, key: TagCache.Key) async throws
    -> Digest {
        var headers = HTTPHeaders()
        headers.add(name: "accept", value: ManifestMediaTypes.upstreamAccept)
        let path = "/v2/\(name.value)/manifests/\(tag.value)"
        let response = try await upstream.fetch(.HEAD, path: path, headers: headers, repository: name)
        await response.discard()
        guard response.status == 200 else {
            throw Self.upstreamError(response.status, notFound: .manifestUnknown, what: "\(name):\(tag)",
                                     retryAfter: response.header("retry-after"))
        }
        let digest: Digest
        if let header = response.header("docker-content-digest"), let parsed = Digest(parsing: header) {
            digest = parsed
        } else {
            // No digest on HEAD (some registries): GET by tag and hash what came.
            let full = try await upstream.fetch(.GET, path: path, headers: headers, repository: name)
            let body = try await Self.manifestBody(full, what: "\(name):\(tag)")
            digest = Digest(parsing: "sha256:" + ManifestStore.sha256(body))!
            _ = try await self.cache.manifests.store(body, digest: digest, mediaType: Self.mediaType(of: full, body: body))
        }
        await upstream.rememberTag(digest, for: key)
        self.cache.tags.record(digest, for: key)
        return digest
    }

    /// Asks the upstream about a tag in the background (once at a time per tag) while its known digest is served:
    /// a moved tag is recorded and its manifest fetched, so the next pull gets it at once; a tag the upstream no
    /// longer has is forgotten; an unreachable upstream leaves the known digest until the window ends.
    private func revalidate(_ tag: Tag, known: Digest, name: RepositoryName, upstream: UpstreamRegistry, key: TagCache.Key) {
        Task {
            guard await upstream.tags.beginRefresh(key) else { return }
            do {
                let digest = try await self.resolveTag(tag, name: name, upstream: upstream, key: key)
                if digest != known, self.cache.manifests.lookup(digest) == nil {
                    _ = try await self.fetchManifest(digest, name: name, upstream: upstream)
                }
            } catch let error as RegistryError where error.code == .manifestUnknown {
                await upstream.tags.forget(key)
                self.cache.tags.remove(key)
            } catch {
                self.logger.warning("registry: revalidating \(upstream.name)/\(name):\(tag.value) in the background failed: \(Self.summary(error))")
            }
            await upstream.tags.endRefresh(key)
        }
    }

    private func fetchManifest(_ digest: Digest, name: RepositoryName, upstream: UpstreamRegistry) async throws
    -> ManifestStore.Manifest {
        var headers = HTTPHeaders()
        headers.add(name: "accept", value: ManifestMediaTypes.upstreamAccept)
        let response = try await upstream.fetch(.GET, path: "/v2/\(name.value)/manifests/\(digest)", headers: headers,
                                                repository: name)
        let body = try await Self.manifestBody(response, what: "\(name)@\(digest)")
        upstream.stats.bytesFromUpstream.increment(by: body.readableBytes)
        do {
            return try await self.cache.manifests.store(body, digest: digest, mediaType: Self.mediaType(of: response, body: body))
        } catch FileBlobStore.StoreError.digestMismatch {
            upstream.stats.verificationFailures.increment()
            throw RegistryError(.manifestInvalid, "the upstream's manifest does not match \(digest); nothing was cached")
        } catch {
            throw RegistryError(.unavailable, "cannot store the manifest \(digest) in the cache: \(error)")
        }
    }

    private static func manifestBody(_ response: UpstreamResponse, what: String) async throws -> ByteBuffer {
        guard response.status == 200 else {
            await response.discard()
            throw Self.upstreamError(response.status, notFound: .manifestUnknown, what: what,
                                     retryAfter: response.header("retry-after"))
        }
        do {
            return try await response.collect(limit: ManifestStore.sizeLimit)
        } catch {
            throw RegistryError(.unavailable, "reading the manifest \(what) from upstream failed: \(error)")
        }
    }

    /// The upstream's Content-Type, else the manifest's own `mediaType` field.
    static func mediaType(of response: UpstreamResponse, body: ByteBuffer) -> String {
        if let type = response.header("content-type")?.split(separator: ";").first.map({ $0.trimmingCharacters(in: .whitespaces) }),
           ManifestMediaTypes.all.contains(type) || type.hasPrefix("application/vnd.") {
            return type
        }
        if let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
           let type = object["mediaType"] as? String {
            return type
        }
        return ManifestMediaTypes.ociManifest
    }

    static func summary(_ error: any Error) -> String {
        let text = (error as? RegistryError)?.message ?? String(describing: error)
        return String(text.replacingOccurrences(of: "\"", with: "'").prefix(200))
    }
}
