using System.Globalization;
using System.Runtime.InteropServices;
using ModelForge.Core.Diagnostics;
using ModelForge.Optimize.Onnx;
using Onnx;

namespace ModelForge.Optimize.Fp16;

/// <summary>What <see cref="Fp16Converter.Convert"/> made: the model, and what stayed float32.</summary>
/// <param name="Float32Nodes">The nodes that touch float values but stay float32 (block list, quantization ops), by name.</param>
/// <param name="CastsInserted">How many Cast nodes the conversion added at float32/float16 boundaries.</param>
public sealed record Fp16Result(ModelProto Model, IReadOnlyList<string> Float32Nodes, int CastsInserted);

/// <summary>
/// Rewrites an fp32 ONNX model to float16 (docs/precision.md, "fp16"): every node that is not blocked
/// (<see cref="Fp16Options.BlockList"/>) computes in float16, its float32 weights become float16, and a Cast sits at
/// every edge between a float32 value and a node that takes float16 (or the reverse). Blocked nodes keep float32 weights
/// and float32 inputs. The input model is not changed.
/// <para>
/// Each float value has one home precision (the precision its producer writes; for weights, float16 when any consumer
/// runs in float16); a consumer that needs the other precision reads a Cast of it, one Cast per value and precision.
/// </para>
/// </summary>
public static class Fp16Converter
{
    /// <summary>Float16's largest finite value.</summary>
    public const float Fp16Max = 65504f;

    private enum Precision { Fp32, Fp16 }

    public static Fp16Result Convert(ModelProto model, Fp16Options? options = null)
    {
        options ??= new Fp16Options();
        OnnxTensors.RequireInlineWeights(model, "fp16");
        var converted = model.Clone();
        var graph = converted.Graph;
        HoistFloatConstants(graph);
        var plan = Fp16Plan.Create(converted, options);
        var names = new UniqueNames(graph);

        // Where each float value lives, and the precision each consumer needs it in.
        var home = new Dictionary<string, Precision>(StringComparer.Ordinal);
        var inputPrecision = options.KeepIoTypes ? Precision.Fp32 : Precision.Fp16;
        foreach (var input in graph.Input.Where(i => plan.IsFloat32(i.Name))) home[input.Name] = inputPrecision;
        foreach (var node in graph.Node)
            foreach (var output in node.Output.Where(plan.IsFloat32))
                home[output] = plan.RunsInFp16(node) ? Precision.Fp16 : Precision.Fp32;
        var readInFp16 = graph.Node.Where(plan.RunsInFp16)
            .SelectMany(n => n.Input.Where((_, index) => !Fp16Plan.TakesAnyType(n, index)))
            .ToHashSet(StringComparer.Ordinal);
        var weights = graph.Initializer.Where(t => t.DataType == ElementTypes.Float && !home.ContainsKey(t.Name)).ToList();
        foreach (var weight in weights) home[weight.Name] = readInFp16.Contains(weight.Name) ? Precision.Fp16 : Precision.Fp32;

        ConvertWeights(graph, weights.Where(w => home[w.Name] == Precision.Fp16));

        // Graph outputs in the wrong precision: the producer writes a renamed value, and a Cast restores the name.
        var outputPrecision = options.KeepIoTypes ? Precision.Fp32 : Precision.Fp16;
        var outputCasts = new List<(string From, string To, Precision Target)>();
        foreach (var output in graph.Output.Where(o => plan.IsFloat32(o.Name)))
        {
            if (home[output.Name] != outputPrecision)
            {
                var renamed = names.Next($"{output.Name}_{Suffix(home[output.Name])}");
                Rename(graph, output.Name, renamed);
                home[renamed] = home[output.Name];
                outputCasts.Add((renamed, output.Name, outputPrecision));
            }
            output.Type.TensorType.ElemType = ElementType(outputPrecision);
        }
        foreach (var input in graph.Input.Where(i => plan.IsFloat32(i.Name)))
            input.Type.TensorType.ElemType = ElementType(inputPrecision);
        foreach (var info in graph.ValueInfo.Where(v => home.TryGetValue(v.Name, out var p) && p == Precision.Fp16))
            info.Type.TensorType.ElemType = ElementTypes.Float16;

        // Casts at every boundary, each placed right after the value's producer (graph inputs and weights: first).
        var casts = new Dictionary<(string Value, Precision Target), string>();
        var castsAfter = new Dictionary<NodeProto, List<NodeProto>>(ReferenceEqualityComparer.Instance);
        var leading = new List<NodeProto>();
        var producers = graph.Node.SelectMany(n => n.Output.Select(o => (o, n))).ToDictionary(p => p.o, p => p.n, StringComparer.Ordinal);
        void AddCast(string from, string to, Precision target)
        {
            var cast = new NodeProto { Name = names.Next($"{to}_cast"), OpType = "Cast" };
            cast.Input.Add(from);
            cast.Output.Add(to);
            cast.Attribute.Add(new AttributeProto { Name = "to", Type = AttributeProto.Types.AttributeType.Int, I = ElementType(target) });
            if (producers.TryGetValue(from, out var producer))
            {
                if (!castsAfter.TryGetValue(producer, out var list)) castsAfter[producer] = list = [];
                list.Add(cast);
            }
            else leading.Add(cast);
        }
        foreach (var node in graph.Node)
        {
            var needs = plan.RunsInFp16(node) ? Precision.Fp16 : Precision.Fp32;
            for (var i = 0; i < node.Input.Count; i++)
            {
                var value = node.Input[i];
                if (!home.TryGetValue(value, out var precision) || precision == needs || (plan.RunsInFp16(node) && Fp16Plan.TakesAnyType(node, i)))
                    continue;
                if (!casts.TryGetValue((value, needs), out var cast))
                {
                    cast = casts[(value, needs)] = names.Next($"{value}_{Suffix(needs)}");
                    AddCast(value, cast, needs);
                }
                node.Input[i] = cast;
            }
            if (plan.RunsInFp16(node)) ToFp16Attributes(node);
        }
        foreach (var (from, to, target) in outputCasts) AddCast(from, to, target);

        var ordered = leading.Concat(graph.Node.SelectMany(n =>
            castsAfter.TryGetValue(n, out var after) ? after.Prepend(n) : [n])).ToList();
        graph.Node.Clear();
        graph.Node.AddRange(ordered);

        var float32Nodes = graph.Node
            .Where(n => n.OpType != "Cast" && !plan.RunsInFp16(n) && n.Input.Concat(n.Output).Any(v => home.ContainsKey(v)))
            .Select(n => n.Name).ToList();
        return new Fp16Result(converted, float32Nodes, leading.Count + castsAfter.Values.Sum(l => l.Count));
    }

    private static string Suffix(Precision precision) => precision == Precision.Fp16 ? "fp16" : "fp32";

    private static int ElementType(Precision precision) => precision == Precision.Fp16 ? ElementTypes.Float16 : ElementTypes.Float;

    /// <summary>Float32 Constant nodes become initializers, so weights and constants follow one rule.</summary>
    private static void HoistFloatConstants(GraphProto graph)
    {
        var constants = graph.Node.Where(n => n.OpType == "Constant" && n.Domain is "" or "ai.onnx"
            && n.Attribute.Count == 1 && n.Attribute[0].Name == "value" && n.Attribute[0].T?.DataType == ElementTypes.Float).ToList();
        foreach (var constant in constants)
        {
            var tensor = constant.Attribute[0].T.Clone();
            tensor.Name = constant.Output[0];
            graph.Initializer.Add(tensor);
            graph.Node.Remove(constant);
        }
    }

    /// <summary>Replaces float32 weights by float16 ones; a finite value beyond ±65504 is an error (MF8021), never clamped.</summary>
    private static void ConvertWeights(GraphProto graph, IEnumerable<TensorProto> weights)
    {
        var problems = new List<Diagnostic>();
        var converting = weights.Select(w => w.Name).ToHashSet(StringComparer.Ordinal);
        for (var index = 0; index < graph.Initializer.Count; index++)
        {
            var weight = graph.Initializer[index];
            if (!converting.Contains(weight.Name)) continue;
            // Read in place and written once: a weight mapped from external data is not copied into the heap first.
            var values = OnnxTensors.FloatValues(weight);
            var bytes = new byte[values.Length * sizeof(ushort)];
            var halves = MemoryMarshal.Cast<byte, Half>(bytes.AsSpan());
            var outOfRange = -1;
            for (var i = 0; i < values.Length && outOfRange < 0; i++)
            {
                if (float.IsFinite(values[i]) && Math.Abs(values[i]) > Fp16Max) outOfRange = i;
                halves[i] = (Half)values[i];
            }
            if (outOfRange >= 0)
            {
                var consumer = graph.Node.First(n => n.Input.Contains(weight.Name));
                problems.Add(new Diagnostic(DiagnosticCode.Fp16InitializerOutOfRange,
                    $"fp16: weight '{weight.Name}' holds {values[outOfRange].ToString("G9", CultureInfo.InvariantCulture)} (element {outOfRange}), beyond float16's ±65504; node '{consumer.Name}' ({consumer.OpType}) would read it in fp16",
                    Hint: $"add '{consumer.OpType}' to the fp16 block list (or the node to the node block list) to keep it float32, or keep the model in fp32"));
                continue;
            }
            graph.Initializer[index] = OnnxTensors.Owning(weight.Name, ElementTypes.Float16, bytes, weight.Dims);
        }
        if (problems.Count > 0) throw new ModelForgeException(problems);
    }

    /// <summary>A float16 node's own float32 types: Cast to float becomes Cast to float16; ConstantOfShape's value turns float16.</summary>
    private static void ToFp16Attributes(NodeProto node)
    {
        foreach (var attribute in node.Attribute)
        {
            if (node.OpType == "Cast" && attribute.Name == "to" && attribute.I == ElementTypes.Float)
                attribute.I = ElementTypes.Float16;
            if (node.OpType == "ConstantOfShape" && attribute.Name == "value" && attribute.T?.DataType == ElementTypes.Float)
                attribute.T = OnnxTensors.Halves(attribute.T.Name, OnnxTensors.ReadFloats(attribute.T).Select(v => (Half)v).ToArray(), attribute.T.Dims);
        }
    }

    /// <summary>Renames a value everywhere it is written or read (nodes and value_info).</summary>
    private static void Rename(GraphProto graph, string from, string to)
    {
        foreach (var node in graph.Node)
        {
            for (var i = 0; i < node.Input.Count; i++) if (node.Input[i] == from) node.Input[i] = to;
            for (var i = 0; i < node.Output.Count; i++) if (node.Output[i] == from) node.Output[i] = to;
        }
        foreach (var info in graph.ValueInfo.Where(v => v.Name == from)) info.Name = to;
    }
}
