// libFuzzer's entry point. `scripts/fuzz` builds this with -sanitize=fuzzer and links it without
// SwiftPM's `main=ShopFuzz_main`, so that libFuzzer's own `main` drives LLVMFuzzerTestOneInput. Built
// normally (as `swift build` does), the program only says how to fuzz.
// SHOP_FUZZ_TARGET picks the target: apigateway, json, cursor or webhook.
import FuzzTargets

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let target = getenv("SHOP_FUZZ_TARGET").map { String(cString: $0) } ?? "apigateway"
    FuzzTargets.run(target, data.map { Array(UnsafeBufferPointer(start: $0, count: count)) } ?? [])
    return 0
}

print("ShopFuzz runs under libFuzzer: build and run it with scripts/fuzz.")
