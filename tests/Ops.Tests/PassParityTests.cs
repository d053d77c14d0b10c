using ModelForge.Convert;
using ModelForge.Convert.Emit;
using ModelForge.Convert.IR;
using ModelForge.Convert.Passes;
using ModelForge.Ops.Tests.Infrastructure;
using ModelForge.Validate.Runtime;
using ModelForge.Model.Tensors;

namespace ModelForge.Ops.Tests;

/// <summary>
/// Every graph pass keeps parity: each fixture (fixtures/ops and fixtures/models) is converted without passes and run
/// on ONNX Runtime; then the default pipeline runs pass by pass (verifier after each) and after every pass that
/// changed the graph the model is emitted, run again and compared with the unoptimised model's outputs and with the
/// outputs PyTorch 1.13 saved. The last comparison is the whole pipeline at <c>--optimize all</c>.
/// </summary>
public sealed class PassParityTests
{
    public static IEnumerable<object[]> Cases() =>
        new[] { "ops", "models" }.SelectMany(kind => FixtureCase.Names(kind).Select(name => new object[] { kind, name }));

    [Theory]
    [MemberData(nameof(Cases))]
    public void Each_pass_keeps_the_outputs(string kind, string name) =>
        // A case whose op ONNX gained after opset 17 ("min_opset") runs the passes at that opset.
        CheckEachPass(kind, name, opset: Math.Max(17, FixtureCase.Load(kind, name).MinOpset ?? 17));

    /// <summary>GeluFusion needs opset 20: the hand-written GELU fixture runs the pipeline there too, and both fusions must fire.</summary>
    [Fact]
    public void Each_pass_keeps_the_outputs_of_hand_written_layernorm_and_gelu_at_opset_20()
    {
        var changed = CheckEachPass("models", "layernorm_gelu_handwritten_small", opset: 20);
        Assert.Contains("LayerNormFusion", changed);
        Assert.Contains("GeluFusion", changed);
    }

    /// <summary>Runs the check; returns the passes that changed the graph, in order.</summary>
    private static List<string> CheckEachPass(string kind, string name, int opset)
    {
        var fixture = FixtureCase.Load(kind, name);
        var specs = fixture.Inputs.Select(i => new InputSpec(i.Name, i.ElementType,
            i.Dims.Select(d => d.IsBatch ? Dim.Named("batch") : Dim.Of(d.Value)).ToArray())).ToList();
        if (fixture.OrtCpuUnsupported is not null)
        {
            // ONNX Runtime's CPU provider cannot run these (bfloat16 kernels): the passes still run with the verifier
            // after each, but there is nothing to compare outputs on.
            using var verified = ModelConverter.Convert(fixture.ModelPath,
                new ConvertOptions(specs, opset) { Pipeline = new PassPipeline(PassPipeline.Default()) { VerifyAfterEachPass = true } });
            Assert.NotEmpty(verified.Graph.Nodes);
            return [];
        }
        var directory = Directory.CreateTempSubdirectory("modelforge-pass-parity-");
        var checkedPasses = new List<string>();
        try
        {
            Dictionary<int, IReadOnlyList<HostTensor>> baseline;
            using (var plain = ModelConverter.Convert(fixture.ModelPath, new ConvertOptions(specs, opset) { Optimize = OptimizeLevel.None }))
                baseline = RunAll(fixture, WriteModel(plain.Graph, opset, directory, "none"));

            var pipeline = new PassPipeline(PassPipeline.Default())
            {
                VerifyAfterEachPass = true,
                AfterPass = (pass, graph, changed) =>
                {
                    if (!changed) return;
                    var label = $"{fixture} after {checkedPasses.Count + 1}:{pass.Name}";
                    var outputs = RunAll(fixture, WriteModel(graph, opset, directory, $"{checkedPasses.Count}_{pass.Name}"));
                    foreach (var batch in fixture.BatchSizes)
                    {
                        var saved = fixture.LoadOutputs(batch);
                        for (var j = 0; j < saved.Length; j++)
                        {
                            ParityCheck.AssertClose(baseline[batch][j], outputs[batch][j], fixture.Atol, fixture.Rtol, $"{label} batch {batch} output {j} vs unoptimised");
                            ParityCheck.AssertClose(saved[j], outputs[batch][j], fixture.Atol, fixture.Rtol, $"{label} batch {batch} output {j} vs PyTorch 1.13");
                        }
                    }
                    checkedPasses.Add(pass.Name);
                },
            };
            using var optimised = ModelConverter.Convert(fixture.ModelPath, new ConvertOptions(specs, opset) { Pipeline = pipeline });
        }
        finally
        {
            directory.Delete(recursive: true);
        }
        return checkedPasses;
    }

    private static string WriteModel(Graph graph, int opset, DirectoryInfo directory, string name)
    {
        var path = Path.Combine(directory.FullName, name + ".onnx");
        using var stream = File.Create(path);
        OnnxFileWriter.Write(OnnxEmitter.Emit(graph, opset), stream);
        return path;
    }

    private static Dictionary<int, IReadOnlyList<HostTensor>> RunAll(FixtureCase fixture, string onnxPath)
    {
        using var candidate = OrtCandidate.TryCreate(CandidateKind.Cpu, onnxPath, out var unavailable)
            ?? throw new InvalidOperationException($"{fixture}: ONNX Runtime's CPU provider is unavailable: {unavailable}");
        var names = fixture.Inputs.Select(i => i.Name).ToList();
        var order = candidate.InputNames.Select(n => names.IndexOf(n)).ToArray();
        return fixture.BatchSizes.ToDictionary(b => b, b =>
        {
            var inputs = fixture.LoadInputs(b);
            return candidate.Run(order.Select(i => inputs[i]).ToArray());
        });
    }
}
