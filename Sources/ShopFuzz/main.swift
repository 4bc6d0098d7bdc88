// libFuzzer's entry point, built only by `scripts/fuzz` (with -sanitize=fuzzer and -D FUZZING, where
// libFuzzer supplies `main`). SHOP_FUZZ_TARGET picks the target: apigateway, json, cursor or webhook.
#if FUZZING
import FuzzTargets

#if canImport(Glibc)
import Glibc
#endif

let target = getenv("SHOP_FUZZ_TARGET").map { String(cString: $0) } ?? "apigateway"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    FuzzTargets.run(target, data.map { Array(UnsafeBufferPointer(start: $0, count: count)) } ?? [])
    return 0
}
#else
print("ShopFuzz runs under libFuzzer: build and run it with scripts/fuzz.")
#endif
