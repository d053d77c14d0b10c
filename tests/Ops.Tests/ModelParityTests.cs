using ModelForge.Ops.Tests.Infrastructure;

namespace ModelForge.Ops.Tests;

/// <summary>Small-width versions of the torchvision CNN families (fixtures/models/*) convert and match libtorch.</summary>
public sealed class ModelParityTests
{
    public static IEnumerable<object[]> Cases() => FixtureCase.All("models");

    [Theory]
    [MemberData(nameof(Cases))]
    public void Converted_model_matches_libtorch(string fixture) =>
        ParityCheck.Run(FixtureCase.Load("models", fixture), opset: 17);
}
