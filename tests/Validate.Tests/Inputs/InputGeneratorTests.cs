using System.Runtime.InteropServices;
using ModelForge.Core.Diagnostics;
using ModelForge.Core.Limits;
using ModelForge.Model;
using ModelForge.Validate.Inputs;
using ModelForge.Model.Tensors;

namespace ModelForge.Validate.Tests.Inputs;

public class InputGeneratorTests
{
    private static readonly Dictionary<string, InputRange> NoRanges = new();
    private static readonly Dictionary<string, long> NoDims = new();

    private static List<InputSpec> Specs(params string[] texts) => texts.Select(InputSpec.Parse).ToList();

    private static IReadOnlyList<HostTensor> Generate(IReadOnlyList<InputSpec> specs, int batch = 2, int seed = 0,
        Dictionary<string, InputRange>? ranges = null, Dictionary<string, long>? dims = null) =>
        InputGenerator.Generate(specs, batch, seed, ranges ?? NoRanges, dims ?? NoDims);

    [Fact]
    public void ResolvesShapesFromBatchSizeAndDimValues()
    {
        var specs = Specs("x:float32[batch,3,seq]", "mask:bool[batch,seq]", "scale:float64[]", "fixed:int64[4,2]");
        var tensors = Generate(specs, batch: 5, dims: new() { ["seq"] = 7 });
        Assert.Equal([5L, 3, 7], tensors[0].Shape);
        Assert.Equal([5L, 7], tensors[1].Shape);
        Assert.Empty(tensors[2].Shape);
        Assert.Equal([4L, 2], tensors[3].Shape);
        Assert.Equal(DataType.Float32, tensors[0].ElementType);
        Assert.Equal(DataType.Bool, tensors[1].ElementType);
        Assert.All(tensors, t => Assert.Equal(t.ElementCount * t.ElementType.SizeInBytes(), t.Data.LongLength));
    }

    [Fact]
    public void InputsAboveTheMemoryCapAreMF1014BeforeTheyAreGenerated()
    {
        using var _ = MemoryLimit.Override(1000);
        var one = Assert.Throws<ModelForgeException>(() => Generate(Specs("x:float32[batch,300]"), batch: 1));
        Assert.Equal(DiagnosticCode.MemoryLimitExceeded, one.Code);
        Assert.Contains("generated input", one.Message);
        Assert.Contains("needs 1200 bytes", one.Message);

        Assert.Equal(2, Generate(Specs("x:float32[batch,100]", "y:float32[batch,100]"), batch: 1).Count); // 800 bytes
        var both = Assert.Throws<ModelForgeException>(() => Generate(Specs("x:float32[batch,100]", "y:float32[batch,100]"), batch: 2));
        Assert.Equal(DiagnosticCode.MemoryLimitExceeded, both.Code);
        Assert.Contains("the 2 generated inputs together needs 1600 bytes", both.Message);
    }

    [Fact]
    public void TheBatchSymbolIsTheBatchSizeWhereverItAppears()
    {
        var tensors = Generate(Specs("x:float32[n,n]"), batch: 3);
        Assert.Equal([3L, 3], tensors[0].Shape);
        var error = Assert.Throws<ModelForgeException>(() => Generate(Specs("x:float32[n,4]"), batch: 3, dims: new() { ["n"] = 4 }));
        Assert.Equal(DiagnosticCode.InputDimUnresolved, error.Code);
        Assert.Contains("batch dim", error.Message);
        Generate(Specs("x:float32[n,4]"), batch: 3, dims: new() { ["n"] = 3 }); // agreeing is fine
    }

    [Fact]
    public void OnlyTheFirstInputsDim0IsTheBatchDim()
    {
        // Before BatchDim, every input's symbolic dim 0 was a batch dim here: m took the batch size too.
        var error = Assert.Throws<ModelForgeException>(() => Generate(Specs("a:float32[n,3]", "b:float32[m,3]"), batch: 3));
        Assert.Equal(DiagnosticCode.InputDimUnresolved, error.Code);
        Assert.Contains("'m'", error.Message);
        var tensors = Generate(Specs("a:float32[n,3]", "b:float32[m,3]"), batch: 3, dims: new() { ["m"] = 4 });
        Assert.Equal([3L, 3], tensors[0].Shape);
        Assert.Equal([4L, 3], tensors[1].Shape);

        // A static first input: the model has no batch dim, so 'batch' is sized like any other symbol.
        var unbatched = Generate(Specs("scale:float32[1]", "x:float32[batch,3]"), batch: 3, dims: new() { ["batch"] = 2 });
        Assert.Equal([2L, 3], unbatched[1].Shape);
    }

    [Fact]
    public void UnresolvedDimNamesInputAndDimWithHint()
    {
        var error = Assert.Throws<ModelForgeException>(() => Generate(Specs("ids:int64[batch,seq]", "other:int64[batch,seq,len]")));
        Assert.Equal(DiagnosticCode.InputDimUnresolved, error.Code);
        Assert.Equal(2, error.Diagnostics.Count); // seq reported once, len once
        Assert.Contains("input ids:int64[batch,seq]", error.Diagnostics[0].Message);
        Assert.Contains("'seq'", error.Diagnostics[0].Message);
        Assert.Contains("--dim seq=16", error.Diagnostics[0].Hint);
        Assert.Contains("--dim len=16", error.Diagnostics[1].Hint);
    }

    [Fact]
    public void RejectsUnknownOrNegativeDimValuesAndUnknownRangeNames()
    {
        Assert.Contains("names no symbolic dim",
            Assert.Throws<ModelForgeException>(() => Generate(Specs("x:float32[batch,seq]"), dims: new() { ["seq"] = 2, ["sqe"] = 4 })).Message);
        Assert.Contains("negative",
            Assert.Throws<ModelForgeException>(() => Generate(Specs("x:float32[batch,seq]"), dims: new() { ["seq"] = -1 })).Message);
        var error = Assert.Throws<ModelForgeException>(() => Generate(Specs("x:float32[2]"), ranges: new() { ["y"] = new InputRange("y", 0, 1) }));
        Assert.Equal(DiagnosticCode.InputSpecInvalid, error.Code);
        Assert.Contains("'y'", error.Message);
    }

    [Fact]
    public void IsDeterministicAndSeedAndIndexDependent()
    {
        var specs = Specs("a:float32[batch,16]", "b:float32[batch,16]");
        var first = Generate(specs, seed: 7);
        var second = Generate(specs, seed: 7);
        Assert.Equal(first[0].Data, second[0].Data);
        Assert.Equal(first[1].Data, second[1].Data);
        Assert.NotEqual(first[0].Data, first[1].Data); // each input its own stream
        Assert.NotEqual(first[0].Data, Generate(specs, seed: 8)[0].Data);
        // an input's values depend on its index, not on the other inputs' shapes
        var other = Generate(Specs("a:float32[batch,3]", "b:float32[batch,16]"), seed: 7);
        Assert.Equal(first[1].Data, other[1].Data);
    }

    [Fact]
    public void GoldenValues()
    {
        // Pinned: changing these changes every generated validation input; do it only on purpose.
        var tensors = Generate(Specs("x:float32[batch,4]", "ids:int64[batch,4]", "m:bool[4]", "h:float16[4]"), batch: 1, seed: 42,
            ranges: new() { ["ids"] = new InputRange("ids", 0, 30000) });
        var floats = MemoryMarshal.Cast<byte, float>(tensors[0].Data).ToArray();
        var ids = tensors[1].ToInt64s();
        var mask = tensors[2].ToInt64s();
        var halves = tensors[3].ToDoubles();
        // Computed independently with Python + numpy (SplitMix64, 53-bit doubles, Lemire bounded ints, IEEE rounding).
        Assert.Equal([0xbf149651u, 0xbf0fca9eu, 0x3e348a7fu, 0x3f5702afu], floats.Select(BitConverter.SingleToUInt32Bits));
        Assert.Equal([-0.5804186463356018f, -0.5616854429244995f, 0.17630957067012787f, 0.8398846983909607f], floats);
        Assert.Equal([11199L, 4565, 6080, 22428], ids);
        Assert.Equal([1L, 0, 0, 0], mask);
        Assert.Equal([-0.9150390625, -0.47314453125, 0.83056640625, -0.6484375], halves);
    }

    public static TheoryData<string> FloatTypes => ["float32", "float64", "float16", "bfloat16"];

    [Theory]
    [MemberData(nameof(FloatTypes))]
    public void FloatsStayInTheirHalfOpenRange(string dtype)
    {
        var spec = Specs($"x:{dtype}[batch,5000]");
        var values = Generate(spec, batch: 2, seed: 3)[0].ToDoubles();
        Assert.All(values, v => Assert.InRange(v, -1.0, 0.99999999));
        Assert.True(values.Min() < -0.9 && values.Max() > 0.9);
        Assert.InRange(values.Average(), -0.05, 0.05);

        var ranged = Generate(spec, batch: 2, seed: 3, ranges: new() { ["x"] = new InputRange("x", 10, 10.5) })[0].ToDoubles();
        Assert.All(ranged, v => Assert.True(v >= 10 && v < 10.5, $"{v} outside [10, 10.5)"));
    }

    [Fact]
    public void IntegersDefaultToZeroToNineAndHonourRanges()
    {
        foreach (var dtype in new[] { "int64", "int32", "int16", "int8", "uint8" })
        {
            var values = Generate(Specs($"i:{dtype}[batch,2000]"))[0].ToInt64s();
            Assert.Equal(Enumerable.Range(0, 10).Select(v => (long)v), values.Distinct().Order());
        }
        var ids = Generate(Specs("ids:int64[batch,4000]"), ranges: new() { ["ids"] = new InputRange("ids", -3, 2) })[0].ToInt64s();
        Assert.Equal([-3L, -2, -1, 0, 1], ids.Distinct().Order());
        var bytes = Generate(Specs("b:uint8[1000]"), ranges: new() { ["b"] = new InputRange("b", 0, 256) })[0].ToInt64s();
        Assert.Contains(255L, bytes);
        var full = Generate(Specs("f:int64[100]"), ranges: new() { ["f"] = new InputRange("f", long.MinValue, 9223372036854775808.0) })[0].ToInt64s();
        Assert.Contains(full, v => v < 0);
    }

    [Fact]
    public void BoolsAreFalseAndTrue()
    {
        var values = Generate(Specs("m:bool[batch,1000]"))[0].ToInt64s();
        Assert.Equal([0L, 1L], values.Distinct().Order());
        var allTrue = Generate(Specs("m:bool[10]"), ranges: new() { ["m"] = new InputRange("m", 1, 2) })[0].ToInt64s();
        Assert.All(allTrue, v => Assert.Equal(1L, v));
    }

    [Theory]
    [InlineData("i:int64[4]", 0.5, 3, "integer bounds")]
    [InlineData("i:uint8[4]", -1, 3, "[0, 256)")]
    [InlineData("i:int8[4]", 0, 129, "[-128, 128)")]
    [InlineData("m:bool[4]", 0, 3, "[0, 2)")]
    public void RejectsRangesTheDtypeCannotHold(string spec, double low, double high, string fragment)
    {
        var parsed = InputSpec.Parse(spec);
        var error = Assert.Throws<ModelForgeException>(() => Generate([parsed], ranges: new() { [parsed.Name] = new InputRange(parsed.Name, low, high) }));
        Assert.Equal(DiagnosticCode.InputSpecInvalid, error.Code);
        Assert.Contains(fragment, error.Message);
    }

    [Fact]
    public void RejectsTensorsTooLargeToHold()
    {
        var error = Assert.Throws<ModelForgeException>(() => Generate(Specs("x:float32[batch,100000,100000]")));
        Assert.Contains("more than one tensor can hold", error.Message);
    }

    // ---- FromData ----

    private static HostTensor Floats(params long[] shape) => new(DataType.Float32, shape, new byte[shape.Aggregate(1L, (a, d) => a * d) * 4]);

    [Fact]
    public void FromDataReturnsArraysInSpecOrder()
    {
        var specs = Specs("x:float32[batch,3]", "ids:int64[batch,seq]");
        var ids = new HostTensor(DataType.Int64, [4, 6], new byte[4 * 6 * 8]);
        var x = Floats(4, 3);
        var tensors = InputGenerator.FromData(specs, new Dictionary<string, HostTensor> { ["ids"] = ids, ["x"] = x }, "in.npz");
        Assert.Same(x, tensors[0]);
        Assert.Same(ids, tensors[1]);
        Assert.Equal(4, InputGenerator.BatchSizeOf(specs, tensors));
    }

    [Fact]
    public void TheBatchSizeOfDataIsDim0OfTheFirstInputOnlyWhenThatIsTheBatchDim()
    {
        // Before BatchDim, the first input whose dim 0 was symbolic gave it (x here); the validator took dim 0 of the
        // first array whatever its spec (2 here).
        var specs = Specs("scale:float32[2]", "x:float32[batch,3]");
        var tensors = InputGenerator.FromData(specs, new Dictionary<string, HostTensor> { ["scale"] = Floats(2), ["x"] = Floats(4, 3) }, "in.npz");
        Assert.Equal(1, InputGenerator.BatchSizeOf(specs, tensors));
    }

    private static ModelForgeException FromDataError(string[] specs, Dictionary<string, HostTensor> data)
    {
        var error = Assert.Throws<ModelForgeException>(() => InputGenerator.FromData(Specs(specs), data, "in.npz"));
        Assert.Equal(DiagnosticCode.DataFileMismatch, error.Code);
        Assert.Contains("in.npz", error.Message);
        return error;
    }

    [Fact]
    public void FromDataReportsMissingAndExtraArrays()
    {
        var missing = FromDataError(["x:float32[2]", "y:float32[2]"], new() { ["x"] = Floats(2), ["z"] = Floats(2) });
        Assert.Equal(2, missing.Diagnostics.Count);
        Assert.Contains("no array for input 'y' (it has: x, z)", missing.Diagnostics[0].Message);
        Assert.Contains("no declared input: z", missing.Diagnostics[1].Message);
    }

    [Fact]
    public void FromDataReportsDtypeRankAndDimMismatches()
    {
        Assert.Contains("is float32, but input x:int64[2] is int64",
            FromDataError(["x:int64[2]"], new() { ["x"] = Floats(2) }).Message);
        Assert.Contains("shape [2,3] (rank 2), but input x:float32[batch] has rank 1",
            FromDataError(["x:float32[batch]"], new() { ["x"] = Floats(2, 3) }).Message);
        Assert.Contains("needs dim 1 = 3, not 4",
            FromDataError(["x:float32[batch,3]"], new() { ["x"] = Floats(2, 4) }).Message);
        Assert.Contains("dim 'batch' is 2 in array 'x' but 5 in array 'y'",
            FromDataError(["x:float32[batch,3]", "y:float32[batch]"], new() { ["x"] = Floats(2, 3), ["y"] = Floats(5) }).Message);
    }
}
