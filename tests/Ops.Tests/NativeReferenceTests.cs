using ModelForge.Ops.Tests.Infrastructure;
using ModelForge.Validate.Reference;
using TorchSharp;

namespace ModelForge.Ops.Tests;

/// <summary>
/// Proves the native reference works: libtorch 2.10 (TorchSharp, through <see cref="TorchScriptReference"/>) run on
/// each fixture's committed inputs reproduces the outputs PyTorch 1.13 saved with it, to the fixture's atol/rtol.
/// </summary>
public class NativeReferenceTests
{
    public static IEnumerable<object[]> OpCases() => WithPlaceholder(FixtureCase.All("ops"));
    public static IEnumerable<object[]> ModelCases() => WithPlaceholder(FixtureCase.All("models"));

    // xunit fails a Theory whose MemberData is empty; a null row stands for "no fixtures yet" and passes.
    private static IEnumerable<object[]> WithPlaceholder(IEnumerable<object[]> rows)
    {
        var list = rows.ToList();
        return list.Count > 0 ? list : [[null!]];
    }

    [Fact]
    public void TorchSharpLoadsAndComputes()
    {
        LibTorchRuntime.EnsureConfigured();
        using var ones = torch.ones(2, 2);
        using var sum = ones.sum();
        Assert.Equal(4f, sum.item<float>());
    }

    /// <summary>
    /// Regression: oneDNN's convolutions in libtorch 2.10 gave wrong batched results on AMD EPYC hosts (these
    /// fixtures at batch 2 were off by up to ~5). With <see cref="LibTorchRuntime"/>'s ISA cap, the whole batch
    /// matches the samples run one at a time (within the fixture's tolerances).
    /// </summary>
    [Theory]
    [InlineData("alexnet_small")]
    [InlineData("googlenet_small")]
    [InlineData("inception_v3_small")]
    [InlineData("squeezenet1_0_small")]
    public void Batched_reference_matches_the_samples_run_one_at_a_time(string name)
    {
        var fixture = FixtureCase.Load("models", name);
        var batch = fixture.BatchSizes.Max();
        var input = fixture.LoadInputs(batch)[0];
        using var reference = new TorchScriptReference(fixture.ModelPath);
        var whole = reference.Run([input])[0];
        var sampleSize = input.Data.Length / batch;
        var outputSize = whole.Data.Length / batch;
        for (var b = 0; b < batch; b++)
        {
            var sample = input with { Shape = [1, .. input.Shape[1..]], Data = input.Data.AsSpan(b * sampleSize, sampleSize).ToArray() };
            var alone = reference.Run([sample])[0];
            var slice = whole with { Shape = [1, .. whole.Shape[1..]], Data = whole.Data.AsSpan(b * outputSize, outputSize).ToArray() };
            ParityCheck.AssertClose(alone, slice, fixture.Atol, fixture.Rtol, $"{fixture} sample {b} batched vs alone");
        }
    }

    [Theory]
    [MemberData(nameof(OpCases))]
    public void OpFixtureMatchesPyTorch(string? name) => CheckCase("ops", name);

    [Theory]
    [MemberData(nameof(ModelCases))]
    public void ModelFixtureMatchesPyTorch(string? name) => CheckCase("models", name);

    private static void CheckCase(string kind, string? name)
    {
        if (name is null) return; // no fixtures of this kind yet
        var fixture = FixtureCase.Load(kind, name);
        Assert.NotEmpty(fixture.BatchSizes);
        using var reference = new TorchScriptReference(fixture.ModelPath);
        foreach (int batch in fixture.BatchSizes)
        {
            var inputs = fixture.LoadInputs(batch);
            for (int i = 0; i < inputs.Length; i++)
            {
                var declared = fixture.Inputs[i];
                Assert.Equal(declared.ElementType, inputs[i].ElementType);
                Assert.Equal(declared.ShapeFor(batch), inputs[i].Shape);
            }
            var expected = fixture.LoadOutputs(batch);
            var actual = reference.Run(inputs);
            Assert.True(expected.Length == actual.Count,
                $"{fixture} b{batch}: libtorch returned {actual.Count} outputs, spec says {expected.Length}");
            for (int j = 0; j < expected.Length; j++)
                ParityCheck.AssertClose(expected[j], actual[j], fixture.Atol, fixture.Rtol, $"{fixture} b{batch} output_{j}");
        }
    }
}
