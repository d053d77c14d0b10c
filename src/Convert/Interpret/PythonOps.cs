using ModelForge.Convert.IR;

namespace ModelForge.Convert.Interpret;

/// <summary>Python semantics for values known at conversion time (ints, floats, bools, strings, None, lists).</summary>
internal static class PythonOps
{
    public static object? Unary(string op, object? operand, Func<Exception> unsupported) => (op, operand) switch
    {
        ("-", long l) => -l,
        ("-", double d) => -d,
        ("+", long or double) => operand,
        ("not", _) => !Truth(operand, unsupported),
        ("~", long l) => ~l,
        (_, PoisonValue) => operand,
        _ => throw unsupported(),
    };

    private static bool Truth(object? value, Func<Exception> unsupported) => value switch
    {
        null => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        List<object?> list => list.Count > 0,
        _ => throw unsupported(),
    };

    public static bool TryBinary(string op, object? left, object? right, out object? result)
    {
        result = null;
        if (left is bool lb) left = lb ? 1L : 0L;
        if (right is bool rb) right = rb ? 1L : 0L;
        switch (left, right)
        {
            case (long a, long b):
                result = op switch
                {
                    "+" => a + b, "-" => a - b, "*" => a * b,
                    "//" when HasInt64Quotient(a, b) => FloorDiv(a, b),
                    "%" when HasInt64Quotient(a, b) => a - FloorDiv(a, b) * b,
                    "/" when b != 0 => (double)a / b,
                    "**" when b >= 0 => (long)Math.Pow(a, b),
                    "&" => a & b, "|" => a | b, "^" => a ^ b, "<<" => a << (int)b, ">>" => a >> (int)b,
                    _ => null,
                };
                return result is not null;
            case (long or double, long or double):
                double x = ConvertToDouble(left!), y = ConvertToDouble(right!);
                result = op switch
                {
                    "+" => x + y, "-" => x - y, "*" => x * y, "/" => x / y,
                    "//" => Math.Floor(x / y), "**" => Math.Pow(x, y),
                    "%" => x - Math.Floor(x / y) * y,
                    _ => null,
                };
                return result is not null;
            case (string a, string b) when op == "+":
                result = a + b;
                return true;
            case (List<object?> a, List<object?> b) when op == "+":
                result = a.Concat(b).ToList();
                return true;
            case (List<object?> a, long n) when op == "*":
                result = Enumerable.Range(0, (int)Math.Max(0, n)).SelectMany(_ => a).ToList();
                return true;
            default:
                return false;
        }
    }

    /// <summary>Not for b = 0 (Python's ZeroDivisionError) nor long.MinValue // -1 (2^63, a Python int but no int64).</summary>
    private static bool HasInt64Quotient(long a, long b) => b != 0 && (a != long.MinValue || b != -1);

    private static long FloorDiv(long a, long b)
    {
        var q = a / b;
        return (a % b != 0) && ((a < 0) ^ (b < 0)) ? q - 1 : q;
    }

    public static bool TryCompare(string op, object? left, object? right, out bool holds)
    {
        holds = false;
        if (left is RunTimeOptional || right is RunTimeOptional) return false; // None or a tensor: only known at run time
        switch (op)
        {
            case "is": holds = IsSame(left, right); return left is null || right is null || left is bool || right is bool;
            case "is not": holds = !IsSame(left, right); return left is null || right is null || left is bool || right is bool;
            case "in" or "not in" when right is List<object?> list:
                holds = list.Any(item => Equals(item, left)) == (op == "in");
                return left is not Value;
        }
        // x.size(0) == y.size(0) on the same symbolic dim: equal, though its value is only known at run time.
        if (left is DynamicInt leftSize && right is DynamicInt rightSize && leftSize.IsSameSizeAs(rightSize))
        {
            holds = op is "==" or "<=" or ">=";
            return op is "==" or "!=" or "<" or "<=" or ">" or ">=";
        }
        if (left is Value || right is Value || left is DynamicInt || right is DynamicInt || left is PoisonValue || right is PoisonValue)
            return false;
        if (left is long or double or bool && right is long or double or bool)
        {
            double a = ConvertToDouble(left!), b = ConvertToDouble(right!);
            holds = op switch { "==" => a == b, "!=" => a != b, "<" => a < b, "<=" => a <= b, ">" => a > b, ">=" => a >= b, _ => false };
            return op is "==" or "!=" or "<" or "<=" or ">" or ">=";
        }
        if (op is "==" or "!=")
        {
            var equal = left is List<object?> la && right is List<object?> lb ? ListsEqual(la, lb) : Equals(left, right);
            holds = equal == (op == "==");
            return equal is not null;
        }
        return false;
    }

    /// <summary>
    /// Python's list equality where the items may be sizes known only at run time (<c>x.size() == [batch, 1, n]</c>):
    /// unequal when the lengths differ or a pair of known items differs; equal when every pair is the same known value
    /// or provably the same run-time size (<see cref="DynamicInt.IsSameSizeAs"/>); null (only known at run time) otherwise.
    /// </summary>
    public static bool? ListsEqual(List<object?> left, List<object?> right)
    {
        if (left.Count != right.Count) return false;
        var undecided = false;
        foreach (var (a, b) in left.Zip(right))
        {
            switch (a, b)
            {
                case (DynamicInt x, DynamicInt y) when x.IsSameSizeAs(y):
                    continue;
                case (DynamicInt or Value or PoisonValue or RunTimeOptional, _) or (_, DynamicInt or Value or PoisonValue or RunTimeOptional):
                    undecided = true;
                    continue;
                case (List<object?> x, List<object?> y):
                    if (ListsEqual(x, y) is not { } nested) undecided = true;
                    else if (!nested) return false;
                    continue;
                default:
                    if (!TryCompare("==", a, b, out var same) || !same) return false;
                    continue;
            }
        }
        return undecided ? null : true;
    }

    // None is None; a tensor is never None; bools compare by value (True is True).
    private static bool IsSame(object? left, object? right) =>
        left is null || right is null ? left is null && right is null : Equals(left, right);

    public static int Index(long index, int count, Func<Exception> outOfRange)
    {
        var i = index < 0 ? index + count : index;
        if (i < 0 || i >= count) throw outOfRange();
        return (int)i;
    }

    public static List<object?> Slice(List<object?> list, long? lower, long? upper, long? step)
    {
        var s = step ?? 1;
        var n = list.Count;
        long Clamp(long v) => Math.Clamp(v < 0 ? v + n : v, s > 0 ? 0 : -1, s > 0 ? n : n - 1);
        var start = lower is { } lo ? Clamp(lo) : s > 0 ? 0 : n - 1;
        var stop = upper is { } up ? Clamp(up) : s > 0 ? n : -1;
        var result = new List<object?>();
        for (var i = start; s > 0 ? i < stop : i > stop; i += s) result.Add(list[(int)i]);
        return result;
    }

    public static object Convert(string function, object? value, Func<Exception> unsupported) => (function, value) switch
    {
        ("int", long l) => l,
        ("int", double d) => (long)Math.Truncate(d),
        ("int", bool b) => b ? 1L : 0L,
        ("int", string s) when long.TryParse(s, out var parsed) => parsed,
        ("float", long l) => (double)l,
        ("float", double d) => d,
        ("float", bool b) => b ? 1.0 : 0.0,
        ("bool", _) => Truth(value, unsupported),
        _ => throw unsupported(),
    };

    private static double ConvertToDouble(object value) => System.Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture);
}
