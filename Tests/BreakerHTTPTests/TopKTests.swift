@testable import BreakerHTTP
import Testing

@Suite("TopK")
struct TopKTests {
    @Test func keepsTheKFirstOfAnyOrderInOrder() {
        var generator = SystemRandomNumberGenerator()
        let values = Array(0..<1000).shuffled(using: &generator)
        var top = TopK<Int>(5, by: <)
        for value in values { top.offer(value) }
        #expect(top.best == [0, 1, 2, 3, 4])
        var descending = TopK<Int>(3, by: >)
        for value in values { descending.offer(value) }
        #expect(descending.best == [999, 998, 997])
    }

    @Test func fewerThanKAreAllKeptAndZeroKeepsNone() {
        var top = TopK<String>(10, by: <)
        for name in ["b", "c", "a"] { top.offer(name) }
        #expect(top.best == ["a", "b", "c"])
        var none = TopK<String>(0, by: <)
        none.offer("a")
        #expect(none.best == [])
    }
}
