import Testing
@testable import ProxyConfig

/// String, header and query matchers, and redirects, rule by rule.
@Suite struct MatcherTests {
    @Test(arguments: [
        (StringMatcher(.exact("gcr.io")), "gcr.io", true),
        (StringMatcher(.exact("gcr.io")), "GCR.io", false),
        (StringMatcher(.exact("gcr.io"), ignoreCase: true), "GCR.io", true),
        (StringMatcher(.prefix("/v2/")), "/v2/x", true),
        (StringMatcher(.suffix(".internal")), "a.internal", true),
        (StringMatcher(.contains("lib")), "/v2/library", true),
        (StringMatcher(.contains("LIB"), ignoreCase: true), "/v2/library", true),
        (StringMatcher(.regex(try! RegexPattern("v[0-9]+"))), "v12", true),
        (StringMatcher(.regex(try! RegexPattern("v[0-9]+"))), "v12x", false),   // full match
        (StringMatcher(.regex(try! RegexPattern("a|ab"))), "ab", true),         // alternation is anchored whole
    ] as [(StringMatcher, String, Bool)])
    func stringMatchers(matcher: StringMatcher, value: String, expected: Bool) {
        #expect(matcher.matches(value) == expected)
    }

    @Test func headerMatchersHandleMissingHeadersAndMultipleValues() {
        let present = HeaderMatcher(name: "X-A", rule: .present(true))
        #expect(present.name == "x-a")
        #expect(present.matches(["1"]))
        #expect(!present.matches([]))
        let absent = HeaderMatcher(name: "x-a", rule: .present(false))
        #expect(absent.matches([]))
        let empty = HeaderMatcher(name: "x-a", rule: .string(StringMatcher(.exact(""))), treatMissingHeaderAsEmpty: true)
        #expect(empty.matches([]))
        let joined = HeaderMatcher(name: "x-a", rule: .string(StringMatcher(.exact("1,2"))))
        #expect(joined.matches(["1", "2"]))
        let inverted = HeaderMatcher(name: "x-a", rule: .string(StringMatcher(.exact("1"))), invert: true)
        #expect(inverted.matches([]))
        #expect(!inverted.matches(["1"]))
        let range = HeaderMatcher(name: "x-a", rule: .range(start: -5, end: 5))
        #expect(range.matches(["-5"]) && range.matches(["4"]) && !range.matches(["5"]) && !range.matches(["x"]))
    }

    @Test func queryParametersUseTheFirstValueAndIgnoreTheFragment() {
        let request = RouteRequest(host: "h", path: "/p?ns=gcr.io&ns=quay.io&flag#ns=x")
        #expect(request.queryParameters["ns"] == "gcr.io")
        #expect(request.queryParameters["flag"] == "")
        #expect(request.pathWithoutQuery == "/p")
        #expect(QueryParameterMatcher(name: "flag", stringMatch: nil).matches(request.queryParameters["flag"]))
        #expect(!QueryParameterMatcher(name: "missing", stringMatch: nil).matches(request.queryParameters["missing"]))
    }

    @Test(arguments: [
        ("{https_redirect: true}", "http://a.example:8080/x?q=1", "https://a.example:8080/x?q=1"),
        ("{https_redirect: true, port_redirect: 443}", "http://a.example/x", "https://a.example/x"),
        ("{host_redirect: b.example}", "http://a.example:8080/x", "http://b.example/x"),
        ("{path_redirect: \"/new?k=v\"}", "http://a.example/old?q=1", "http://a.example/new?k=v"),
        ("{prefix_rewrite: \"/v2/\"}", "http://a.example/r/library/x", "http://a.example/v2/library/x"),
        ("{strip_query: true, scheme_redirect: HTTPS}", "http://a.example/r?q=1", "https://a.example/r"),
    ])
    func redirects(redirect: String, request: String, location: String) throws {
        let set = load(["lds.yaml": lds(virtualHosts: """
            - name: v
              domains: ["*"]
              routes:
              - match: {prefix: "/r/"}
                redirect: \(redirect)
              - match: {prefix: "/"}
                redirect: \(redirect)
            """)])
        #expect(set.isValid, "\(set.diagnostics.blockingErrors)")
        let table = RouteTable(try #require(set.listeners.first?.filterChains.first?.httpConnectionManager).routeConfig)
        let rest = request.dropFirst("http://".count)
        let host = String(rest.prefix { $0 != "/" })
        let routed = RouteRequest(host: host, path: String(rest.dropFirst(host.count)))
        let decision = try #require(table.match(routed))
        #expect(decision.redirectLocation(for: routed) == location)
    }

    @Test func unsupportedRegexConstructsNameTheConstruct() {
        #expect(RegexPattern.unsupportedByRE2("(?<=a)b")?.contains("lookbehind") == true)
        #expect(RegexPattern.unsupportedByRE2("a*+")?.contains("possessive") == true)
        #expect(RegexPattern.unsupportedByRE2(#"\\1"#) == nil)   // an escaped backslash then a digit is literal
        #expect(RegexPattern.unsupportedByRE2(#"[a-z]+\.io"#) == nil)
        #expect(RegexPattern.icuTemplate(fromRE2: #"/x/\1/$"#) == #"/x/$1/\$"#)
    }
}
