using ModelForge.Convert.IR;
using ModelForge.Convert.Ops;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Interpret;

// Complex tensors (Value.IsComplex): the graph carries them as real [..., 2]; the aten ops that see one.
public sealed partial class Interpreter
{
    /// <summary>Handlers that take a complex tensor in its real [..., 2] layout themselves.</summary>
    private static readonly HashSet<string> ComplexHandlers = new(StringComparer.Ordinal) { "aten::istft", "aten::view_as_real" };

    /// <summary>
    /// Shape ops whose lowering on the real layout is the complex op once the trailing dim of 2 is accounted for: negative
    /// dims count one further from the end, views and permutations keep the pair last, padding leaves it alone.
    /// </summary>
    private static readonly HashSet<string> ComplexLayoutOps = new(StringComparer.Ordinal)
    {
        "aten::size", "aten::view", "aten::reshape", "aten::slice", "aten::select", "aten::unsqueeze", "aten::transpose",
        "aten::permute", "aten::pad", "aten::constant_pad_nd", "aten::contiguous", "aten::clone", "aten::detach",
    };

    /// <summary>
    /// Calls <paramref name="handler"/>, adapting a complex first argument's layout (<see cref="ComplexLayoutOps"/>) and
    /// marking the result complex; any other op that sees a complex tensor is refused (MF2048).
    /// </summary>
    private static object? CallWithComplex(OpContext context, OpHandler handler, IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> keywords)
    {
        var op = context.OpName;
        var complex = args.Concat(keywords.Values).SelectMany(a => a is List<object?> list ? list : [a]).OfType<Value>().Any(v => v.IsComplex);
        if (!complex || ComplexHandlers.Contains(op)) return handler(context, new OpArgs(context, args, keywords));
        if (!ComplexLayoutOps.Contains(op) || keywords.Count > 0 || args[0] is not Value { IsComplex: true } z)
            throw RefuseComplex(context, "");
        var result = handler(context, new OpArgs(context, ComplexLayout(context, z, args), keywords));
        switch (result)
        {
            case Value value:
                value.IsComplex = true;
                return value;
            case List<object?> sizes: // size(z): every dim but the pair's
                return sizes.Take(sizes.Count - 1).ToList();
            default:
                return result;
        }
    }

    /// <summary>A value's dtype for a diagnostic: a complex one as what it is and how the graph carries it.</summary>
    private static string DtypeText(Value value) =>
        value.IsComplex ? $"complex (carried as {value.Type.ElementType.Name()} [..., 2])" : value.Type.ElementType.Name();

    private static object?[] ComplexLayout(OpContext context, Value z, IReadOnlyList<object?> args)
    {
        var rank = z.Type.Rank - 1;
        var adapted = args.ToArray();
        long Axis(object? dim, int dims) => dim is long d ? (d < 0 ? d + dims : d) : throw RefuseComplex(context, $" with the dim {DescribeValue(dim)}");
        List<object?> Dims(object? list) => list as List<object?> ?? throw RefuseComplex(context, $" with the sizes {DescribeValue(list)}");
        switch (context.OpName)
        {
            case "aten::size" or "aten::slice" when args.Count > 1:
            case "aten::select":
                adapted[1] = Axis(args[1], rank);
                break;
            case "aten::unsqueeze":
                adapted[1] = Axis(args[1], rank + 1);
                break;
            case "aten::transpose":
                (adapted[1], adapted[2]) = (Axis(args[1], rank), Axis(args[2], rank));
                break;
            case "aten::permute":
                adapted[1] = Dims(args[1]).Select(d => (object?)Axis(d, rank)).Append((long)rank).ToList();
                break;
            case "aten::view" or "aten::reshape":
                adapted[1] = Dims(args[1]).Append(2L).ToList();
                break;
            case "aten::pad" or "aten::constant_pad_nd":
                var mode = context.OpName == "aten::pad" && args.Count > 2 ? args[2] as string ?? "constant" : "constant";
                var value = args.Count > (context.OpName == "aten::pad" ? 3 : 2) ? args[^1] : null;
                if (mode != "constant" || value is not (null or 0L or 0.0))
                    throw RefuseComplex(context, $" in mode '{mode}' with the value {DescribeValue(value)} (only zero padding is)");
                adapted[1] = new List<object?> { 0L, 0L }.Concat(Dims(args[1])).ToList();
                break;
        }
        return adapted;
    }

    private static ModelForgeException RefuseComplex(OpContext context, string form) =>
        context.Error(DiagnosticCode.ComplexOpUnsupported,
            $"{context.OpName}{form} on a complex tensor is not supported: ModelForge carries complex tensors as real [..., 2] and lowers " +
            $"stft, istft, view_as_real and, on complex tensors, {string.Join(", ", ComplexLayoutOps.Select(o => o[6..]))}",
            "take torch.view_as_real of the complex tensor and compute on its real and imaginary parts, or report the model so the op can be lowered");
}
