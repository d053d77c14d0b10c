using ModelForge.Convert;
using ModelForge.Convert.IR;
using Onnx;

namespace ModelForge.Ops.Tests.Infrastructure;

/// <summary>
/// The per-fixture parity check: convert the fixture's model.pt with its declared inputs (batch dim dynamic),
/// check the ONNX structure, then at every batch size of the spec run libtorch (TorchSharp) and ONNX Runtime
/// on the committed inputs and require every output to agree within the spec's tolerances with libtorch and
/// with the outputs PyTorch 1.13 saved with the fixture.
/// </summary>
public static class ParityCheck
{
    public static ModelProto Run(FixtureCase fixture, int opset)
    {
        var specs = fixture.Inputs.Select(i => new InputSpec(i.Name,
            DataTypes.FromName(i.DType) ?? throw new InvalidDataException($"{fixture}: unknown dtype {i.DType}"),
            i.Dims.Select(d => d.IsBatch ? Dim.Named("batch") : Dim.Of(d.Value)).ToArray())).ToList();
        using var result = ModelConverter.Convert(fixture.ModelPath, new ConvertOptions(specs, opset));
        var bytes = result.ToBytes();
        OnnxStructure.AssertWellFormed(result.Model, specs.Select(s => s.Name).ToArray(), opset);

        using var runner = new OrtRunner(bytes);
        foreach (var batch in fixture.BatchSizes)
        {
            var inputs = fixture.LoadInputs(batch);
            var native = NativeTorchScript.Run(fixture.ModelPath, inputs);
            var saved = fixture.LoadOutputs(batch);
            var converted = runner.Run(fixture.LoadNamedInputs(batch));
            Assert.Equal(native.Length, converted.Length);
            for (var j = 0; j < native.Length; j++)
            {
                var label = $"{fixture} opset {opset} batch {batch} output {j}";
                Closeness.AssertClose(native[j], converted[j], fixture.Atol, fixture.Rtol, label + " vs libtorch");
                Closeness.AssertClose(saved[j], converted[j], fixture.Atol, fixture.Rtol, label + " vs PyTorch 1.13");
            }
        }
        return result.Model;
    }
}
