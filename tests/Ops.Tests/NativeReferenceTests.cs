using ModelForge.Ops.Tests.Infrastructure;
using TorchSharp;

namespace ModelForge.Ops.Tests;

/// <summary>
/// Proves the native reference works: libtorch 2.10 (TorchSharp) run on each fixture's committed inputs reproduces the
/// outputs PyTorch 1.13 saved with it, to the fixture's atol/rtol.
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
        NativeTorchScript.EnsureInitialized();
        using var ones = torch.ones(2, 2);
        using var sum = ones.sum();
        Assert.Equal(4f, sum.item<float>());
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
        foreach (int batch in fixture.BatchSizes)
        {
            var inputs = fixture.LoadInputs(batch);
            for (int i = 0; i < inputs.Length; i++)
            {
                var declared = fixture.Inputs[i];
                Assert.Equal(declared.DType, inputs[i].DType);
                Assert.Equal(declared.ShapeFor(batch), inputs[i].Shape);
            }
            var expected = fixture.LoadOutputs(batch);
            var actual = NativeTorchScript.Reference(fixture, inputs);
            Assert.True(expected.Length == actual.Length,
                $"{fixture} b{batch}: libtorch returned {actual.Length} outputs, spec says {expected.Length}");
            for (int j = 0; j < expected.Length; j++)
                Closeness.AssertClose(expected[j], actual[j], fixture.Atol, fixture.Rtol, $"{fixture} b{batch} output_{j}");
        }
    }
}
