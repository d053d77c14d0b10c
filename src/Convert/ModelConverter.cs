using Google.Protobuf;
using ModelForge.Convert.Emit;
using ModelForge.Convert.IR;
using ModelForge.Convert.Interpret;
using ModelForge.Convert.Ops;
using ModelForge.Convert.Passes;
using ModelForge.Core.Diagnostics;
using ModelForge.Core.IO;
using ModelForge.TorchScript.Module;
using ModelForge.TorchScript.Script;
using Onnx;

namespace ModelForge.Convert;

/// <summary>What to convert: the declared inputs, the target opset, optional output names, optimisation and external data.</summary>
public sealed record ConvertOptions(IReadOnlyList<InputSpec> Inputs, int Opset = OpRegistry.DefaultOpset, IReadOnlyList<string>? OutputNames = null)
{
    /// <summary>Which graph passes run (docs/optimization.md). Default: all.</summary>
    public OptimizeLevel Optimize { get; init; } = OptimizeLevel.All;

    /// <summary>The passes to run instead of those of <see cref="Optimize"/> (tests run single passes or verify after each).</summary>
    public PassPipeline? Pipeline { get; init; }

    /// <summary>Always write weights to a side file (<c>--external-data</c>), not only when the model is too large.</summary>
    public bool ExternalData { get; init; }

    /// <summary>
    /// A model whose inline size (graph plus weights) exceeds this many bytes is written with external data. The default
    /// is protobuf's 2 GiB limit; tests lower it to exercise the external-data path on small models.
    /// </summary>
    public long ExternalDataThreshold { get; init; } = OnnxFileWriter.ProtobufLimit;

    /// <summary>
    /// Lower <c>aten::scaled_dot_product_attention</c> to ONNX Runtime's fused <c>com.microsoft.MultiHeadAttention</c>
    /// where it computes exactly what the plain ops do (<c>--fused-attention</c>; docs/op-support.md). Off by default:
    /// the contrib op ties the model to ONNX Runtime, and it pays only on longer sequences (BENCHMARKS.md).
    /// </summary>
    public bool FusedAttention { get; init; }

    /// <summary>The same options with each graph pass and its time written to <paramref name="trace"/> (<c>--verbose</c>).</summary>
    public ConvertOptions WithPassTrace(TextWriter trace) =>
        this with { Pipeline = new PassPipeline((Pipeline ?? PassPipeline.For(Optimize)).Passes) { Trace = trace } };
}

/// <summary>
/// A converted model. Holds the source archive open: the ONNX initializers are views on its mapped
/// memory, so weights are never held twice. Dispose after writing.
/// </summary>
public sealed class ConversionResult(TorchScriptModel source, Graph graph, ModelProto model, ConvertOptions options) : IDisposable
{
    public Graph Graph { get; } = graph;
    public ModelProto Model { get; } = model;

    /// <summary>The side file the last <see cref="WriteTo"/> put the weights in, or null when they are inline.</summary>
    public string? ExternalDataPath { get; private set; }

    /// <summary>The side file's name next to <paramref name="modelPath"/>: <c>model.onnx</c> → <c>model.onnx.data</c>.</summary>
    public static string ExternalDataPathFor(string modelPath) => modelPath + ".data";

    public byte[] ToBytes() => Model.ToByteArray();

    /// <summary>Writes the .onnx atomically: an interrupted write never leaves a file that looks complete.</summary>
    public void WriteTo(string path)
    {
        try
        {
            if (options.ExternalData || OnnxFileWriter.InlineSize(Model) > options.ExternalDataThreshold)
            {
                // The side file is renamed into place before the model, so a model file never names missing data.
                var dataPath = ExternalDataPathFor(Path.GetFullPath(path));
                AtomicFile.Write(path, stream => AtomicFile.Write(dataPath, data =>
                    OnnxFileWriter.Write(Model, stream, new OnnxFileWriter.ExternalDataTarget(data, Path.GetFileName(dataPath)))));
                ExternalDataPath = dataPath;
            }
            else
            {
                AtomicFile.Write(path, stream => OnnxFileWriter.Write(Model, stream));
                ExternalDataPath = null;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelForgeException(DiagnosticCode.OutputNotWritable, $"cannot write '{path}': {e.Message}",
                new SourceLocation(path), "check that the output directory exists or can be created and is writable");
        }
    }

    public void Dispose() => source.Dispose();
}

/// <summary>TorchScript archive → ONNX: load, interpret <c>forward</c> symbolically, verify, optimise (passes), emit.</summary>
public static class ModelConverter
{
    public static ConversionResult Convert(string modelPath, ConvertOptions options, OpRegistry? registry = null)
    {
        if (options.Opset is < OpRegistry.MinOpset or > OpRegistry.MaxOpset)
            throw new ModelForgeException(DiagnosticCode.OpsetOutOfRange,
                $"opset {options.Opset} is outside the supported range {OpRegistry.MinOpset}–{OpRegistry.MaxOpset}", null,
                $"use --opset between {OpRegistry.MinOpset} and {OpRegistry.MaxOpset} (default {OpRegistry.DefaultOpset})");

        var model = TorchScriptModel.Load(modelPath);
        try
        {
            var graph = new Graph { Name = Path.GetFileNameWithoutExtension(modelPath) };
            var interpreter = new Interpreter(model, graph, registry ?? OpRegistry.Default, options.Opset) { FusedAttention = options.FusedAttention };
            var root = interpreter.RootModule();
            var inputs = DeclareInputs(model, root, graph, options.Inputs);
            var result = interpreter.CallMethod(root, EntryMethod(root)!.Name, inputs); // DeclareInputs checked it exists
            ReportUnsupported(interpreter.UnsupportedCalls, options.Opset);
            DeclareOutputs(graph, result, options.OutputNames, model);
            graph.RemoveUnusedInitializers();
            GraphVerifier.Verify(graph);
            (options.Pipeline ?? PassPipeline.For(options.Optimize)).Run(graph, new PassContext(options.Opset));
            GraphVerifier.Verify(graph);
            return new ConversionResult(model, graph, OnnxEmitter.Emit(graph, options.Opset), options);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// <c>forward</c>; for a scripted module with <c>@overload</c>ed forwards (nn.LSTM: a Tensor and a PackedSequence
    /// one, serialized as <c>forward__0</c>, <c>forward__1</c>), the first overload whose first input is a Tensor.
    /// </summary>
    private static FunctionDef? EntryMethod(ModuleValue root) =>
        root.Class.Methods.FirstOrDefault(m => m.Name == "forward")
        ?? root.Class.Methods.FirstOrDefault(m => m.Name.StartsWith("forward__", StringComparison.Ordinal) &&
                                                  m.Parameters.Skip(1).FirstOrDefault()?.Type is NameExpr { Id: "Tensor" });

    private static List<object?> DeclareInputs(TorchScriptModel model, ModuleValue root, Graph graph, IReadOnlyList<InputSpec> specs)
    {
        var forward = EntryMethod(root)
            ?? throw new ModelForgeException(DiagnosticCode.NotTorchScript, $"the root module {root.QualifiedClassName} has no forward method",
                new SourceLocation(model.Archive.FilePath), "save the module itself (torch.jit.trace(model, example)), not a container of it");
        var parameters = forward.Parameters.Skip(1).ToList();
        var signature = "forward(" + string.Join(", ", parameters.Select(p => p.Name)) + ")";
        // Trailing parameters with defaults (a scripted forward(src, mask: Optional[Tensor]=None)) may be left out.
        if (specs.Count > parameters.Count || parameters.Skip(specs.Count).Any(p => p.Default is null))
            throw new ModelForgeException(DiagnosticCode.InputSpecMismatch,
                $"the model's {signature} takes {parameters.Count} input(s) but {specs.Count} were declared",
                model.Locate(forward.Span),
                "declare one --input NAME:DTYPE[DIMS] per forward parameter, in order, e.g. " +
                string.Join(" ", parameters.Select(p => $"--input {p.Name}:float32[batch,...]")));
        var duplicate = specs.GroupBy(s => s.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new ModelForgeException(DiagnosticCode.InputSpecInvalid, $"input name '{duplicate.Key}' is declared twice", null,
                "give every --input a distinct name");
        return specs.Select(s => (object?)graph.AddInput(s.Name, s.Type)).ToList();
    }

    private static void DeclareOutputs(Graph graph, object? result, IReadOnlyList<string>? names, TorchScriptModel model)
    {
        var values = new List<Value>();
        Flatten(result, values, model);
        if (names is not null && names.Count != values.Count)
            throw new ModelForgeException(DiagnosticCode.InputSpecMismatch,
                $"{names.Count} output name(s) were given but the model returns {values.Count} tensor(s)", null,
                "give one output name per returned tensor, or none to use the default names");
        if (values.FirstOrDefault(v => v.IsComplex) is { } complex)
            throw new ModelForgeException(DiagnosticCode.ComplexOpUnsupported,
                $"the model returns a complex tensor (carried as real {complex.Type}): ONNX outputs and the accuracy gate take real tensors", null,
                "return torch.view_as_real of it");
        for (var i = 0; i < values.Count; i++)
            graph.AddOutput(values[i], names?[i] ?? (values.Count == 1 ? "output" : $"output_{i}"));
    }

    /// <summary>Tuples, lists and dict values are flattened depth-first in order (output_0, output_1, …).</summary>
    private static void Flatten(object? result, List<Value> values, TorchScriptModel model)
    {
        switch (result)
        {
            case Value v: values.Add(v); break;
            case TupleValue t: foreach (var item in t.Items) Flatten(item, values, model); break;
            case List<object?> l: foreach (var item in l) Flatten(item, values, model); break;
            case List<KeyValuePair<object?, object?>> d: foreach (var (_, item) in d) Flatten(item, values, model); break;
            default:
                throw new ModelForgeException(DiagnosticCode.UnsupportedConstruct,
                    $"forward returns {Interpreter.DescribeValue(result)}, which is not a tensor or a tuple/list/dict of tensors",
                    new SourceLocation(model.Archive.FilePath), "return tensors from forward");
        }
    }

    private static void ReportUnsupported(IReadOnlyList<Interpreter.UnsupportedCall> calls, int opset)
    {
        if (calls.Count == 0) return;
        var lines = calls.GroupBy(c => c.Op).OrderBy(g => g.Key, StringComparer.Ordinal).Select(group =>
        {
            var first = group.First();
            var needs = first.MinimumOpset is { } min ? $" (needs opset ≥ {min}, target is {opset})" : "";
            var sites = string.Join(Environment.NewLine, group.Select(c =>
                $"      at {c.Location}" + (c.Location.PythonSource is { } py ? $"  ← {py}" : "")));
            return $"  {group.Key}{needs}: {group.Count()} call(s)" + Environment.NewLine + sites;
        });
        var opsetOnly = calls.All(c => c.MinimumOpset is not null);
        throw new ModelForgeException(new Diagnostic(
            opsetOnly ? DiagnosticCode.OpsetTooLow : DiagnosticCode.UnsupportedOps,
            $"{calls.Select(c => c.Op).Distinct().Count()} op(s) cannot be converted at opset {opset}:" + Environment.NewLine + string.Join(Environment.NewLine, lines),
            calls[0].Location,
            opsetOnly ? $"raise --opset to {calls.Max(c => c.MinimumOpset)}" : "see docs/op-support.md for supported ops; please report the model so the ops can be added"));
    }
}
