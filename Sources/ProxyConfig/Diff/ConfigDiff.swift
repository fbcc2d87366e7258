/// A semantic diff of two configurations by resource name: what was added, removed or changed, field by field.
public struct ConfigDiff: Sendable, Encodable {
    public enum Kind: String, Sendable, Encodable { case added, removed, modified }

    public struct FieldChange: Sendable, Encodable {
        /// Field path inside the resource, e.g. `filter_chains[0].http_connection_manager.route_config.virtual_hosts[gcr]`.
        public var path: String
        public var old: ConfigTree?
        public var new: ConfigTree?
    }

    public struct ResourceChange: Sendable, Encodable {
        /// `listener`, `cluster`, `admin` or `node`.
        public var resource: String
        public var name: String
        public var kind: Kind
        public var fields: [FieldChange]
    }

    public var changes: [ResourceChange]

    public var isEmpty: Bool { self.changes.isEmpty }

    public init(old: ConfigSet, new: ConfigSet) {
        var changes: [ResourceChange] = []
        changes += Self.compare("listener", old.listeners.map { ($0.name, ConfigTree($0)) },
                                new.listeners.map { ($0.name, ConfigTree($0)) })
        changes += Self.compare("cluster", old.clusters.map { ($0.name, ConfigTree($0)) },
                                new.clusters.map { ($0.name, ConfigTree($0)) })
        let oldAdmin = old.bootstrap?.admin.map { ConfigTree($0) } ?? .null
        let newAdmin = new.bootstrap?.admin.map { ConfigTree($0) } ?? .null
        let adminFields = Self.fieldChanges(oldAdmin, newAdmin, path: "")
        if !adminFields.isEmpty {
            changes.append(ResourceChange(resource: "admin", name: "admin", kind: .modified, fields: adminFields))
        }
        self.changes = changes
    }

    static func compare(_ resource: String, _ old: [(String, ConfigTree)], _ new: [(String, ConfigTree)]) -> [ResourceChange] {
        var result: [ResourceChange] = []
        let oldByName = Dictionary(old, uniquingKeysWith: { first, _ in first })
        let newByName = Dictionary(new, uniquingKeysWith: { first, _ in first })
        for (name, tree) in old where newByName[name] == nil {
            result.append(ResourceChange(resource: resource, name: name, kind: .removed, fields: [FieldChange(path: "", old: tree, new: nil)]))
        }
        for (name, tree) in new {
            guard let previous = oldByName[name] else {
                result.append(ResourceChange(resource: resource, name: name, kind: .added, fields: [FieldChange(path: "", old: nil, new: tree)]))
                continue
            }
            let fields = Self.fieldChanges(previous, tree, path: "")
            if !fields.isEmpty {
                result.append(ResourceChange(resource: resource, name: name, kind: .modified, fields: fields))
            }
        }
        return result
    }

    /// Walks two trees; lists whose elements all have distinct names are paired by name, others by position.
    static func fieldChanges(_ old: ConfigTree?, _ new: ConfigTree?, path: String) -> [FieldChange] {
        if old == new { return [] }
        switch (old, new) {
        case (.object(let a)?, .object(let b)?):
            return Set(a.keys).union(b.keys).sorted().flatMap { key in
                Self.fieldChanges(a[key], b[key], path: path.isEmpty ? key : "\(path).\(key)")
            }
        case (.list(let a)?, .list(let b)?):
            let aNames = a.compactMap(\.name), bNames = b.compactMap(\.name)
            if aNames.count == a.count, bNames.count == b.count, Set(aNames).count == a.count, Set(bNames).count == b.count {
                var changes: [FieldChange] = []
                let bByName = Dictionary(uniqueKeysWithValues: zip(bNames, b))
                let aByName = Dictionary(uniqueKeysWithValues: zip(aNames, a))
                for (name, element) in zip(aNames, a) {
                    changes += Self.fieldChanges(element, bByName[name], path: "\(path)[\(name)]")
                }
                for (name, element) in zip(bNames, b) where aByName[name] == nil {
                    changes.append(FieldChange(path: "\(path)[\(name)]", old: nil, new: element))
                }
                // Virtual host order never changes matching (domains are unique); route order does.
                if changes.isEmpty, aNames != bNames, !path.hasSuffix("virtual_hosts") {
                    changes.append(FieldChange(path: "\(path) (order)", old: .list(aNames.map(ConfigTree.string)),
                                               new: .list(bNames.map(ConfigTree.string))))
                }
                return changes
            }
            guard a.count == b.count else { return [FieldChange(path: path, old: old, new: new)] }
            return zip(a, b).enumerated().flatMap { index, pair in
                Self.fieldChanges(pair.0, pair.1, path: "\(path)[\(index)]")
            }
        default:
            return [FieldChange(path: path, old: old, new: new)]
        }
    }
}
