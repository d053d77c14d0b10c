using ModelForge.Convert.IR;
using ModelForge.Convert.Ops;
using ModelForge.Core.Diagnostics;
using ModelForge.TorchScript.Script;

namespace ModelForge.Convert.Interpret;

// Control flow whose condition or trip count is only known at run time: ONNX If and Loop.
public sealed partial class Interpreter
{
    /// <summary>
    /// What a variable holds after a run-time <c>if</c> when the branches leave it with values that cannot become one
    /// If output (a tensor in one branch and a list in the other, different dtypes, assigned in one branch only).
    /// Reading it is the error, so a variable that is dead after the <c>if</c> costs nothing.
    /// </summary>
    private sealed record BranchConflict(DiagnosticCode Code, string Message, SourceSpan Span);

    /// <summary>One branch run symbolically: its subgraph, its locals and in-place rebindings afterwards, how it ended.</summary>
    private sealed record Branch(Graph Graph, Dictionary<string, object?> Locals, Dictionary<Value, Value> Mutated, Flow Flow, object? ReturnValue);

    /// <summary>One If output: the value each branch gives, and what it is (for diagnostics).</summary>
    private sealed record BranchOutput(Value Then, Value Else, string What);

    /// <summary>
    /// An <c>if</c> whose condition is only known at run time becomes ONNX If. Both branches run symbolically, each into
    /// its own subgraph; the variables a branch rebinds, the tensors it changes in place and (when both branches return)
    /// the return value become the If's outputs. A variable one branch leaves alone keeps its prior value there.
    /// </summary>
    private Flow ExecuteRunTimeIf(IfStmt conditional, Value condition, Frame frame)
    {
        var context = ControlFlowContext("prim::If", conditional.Span, frame);
        var scalarCondition = BoolScalar(context, condition);
        var lists = frame.Locals.Values.OfType<List<object?>>().Distinct(ReferenceEqualityComparer.Instance).Cast<List<object?>>()
            .Select(l => (List: l, l.Count)).ToList();
        var then = RunBranch(conditional.Then, context.Scope + "/then_branch", frame);
        var otherwise = RunBranch(conditional.Else, context.Scope + "/else_branch", frame);
        if (lists.Any(l => l.List.Count != l.Count))
            throw Unsupported(conditional.Span, "a list is changed inside an `if` whose condition is only known at run time " +
                                                "(only tensors and ints can differ between the branches of an ONNX If)");
        if (then.Flow != otherwise.Flow || then.Flow is Flow.Break or Flow.Continue)
            throw Unsupported(conditional.Span, $"the branches of an `if` whose condition is only known at run time end differently " +
                                                $"({FlowText(then.Flow)} and {FlowText(otherwise.Flow)}); ONNX If needs both to reach its end");

        var outputs = new List<BranchOutput>();
        var bindings = new List<Action<IReadOnlyList<Value>>>();
        foreach (var name in then.Locals.Keys.Concat(otherwise.Locals.Keys).Distinct(StringComparer.Ordinal))
        {
            var merged = then.Locals.TryGetValue(name, out var inThen) & otherwise.Locals.TryGetValue(name, out var inElse)
                ? PlanMerge(Current(inThen, then), Current(inElse, otherwise), $"'{name}'", conditional.Span, outputs)
                : _ => new BranchConflict(DiagnosticCode.UnsupportedConstruct,
                    $"'{name}' is assigned in only one branch of an `if` whose condition is only known at run time", conditional.Span);
            bindings.Add(o => frame.Locals[name] = merged(o));
        }
        foreach (var mutated in MutatedOuterValues(then, otherwise))
        {
            var merged = PlanMerge(Resolve(mutated, then.Mutated), Resolve(mutated, otherwise.Mutated), "a tensor changed in place",
                conditional.Span, outputs);
            bindings.Add(o => _mutated[mutated] = (Value)ThrowIfConflict(merged(o))!);
        }
        if (then.Flow == Flow.Return)
        {
            var merged = PlanMerge(then.ReturnValue, otherwise.ReturnValue, "the return value", conditional.Span, outputs);
            bindings.Add(o => frame.ReturnValue = ThrowIfConflict(merged(o)));
        }

        // Complex tensors are carried as real [..., 2] (Value.IsComplex); the If's output is complex where its branches' are.
        var complex = outputs.Select(o => o.Then.IsComplex).ToList();
        if (EmptyCaseOf(conditional.Condition) is { } emptyIsElse)
            for (var i = 0; i < outputs.Count; i++)
                outputs[i] = AlignRanks(outputs[i], emptyIsElse ? otherwise.Graph : then.Graph, emptyIsElse, context, conditional);
        foreach (var output in outputs)
        {
            then.Graph.AddSubgraphOutput(output.Then, then.Graph.Name);
            otherwise.Graph.AddSubgraphOutput(output.Else, otherwise.Graph.Name);
        }
        var node = _graph.AddNode("If", [scalarCondition], outputs.Select(o => MergeTypes(o.Then.Type, o.Else.Type)).ToList(),
            new SortedDictionary<string, AttributeValue>(StringComparer.Ordinal) { ["then_branch"] = then.Graph, ["else_branch"] = otherwise.Graph },
            context.Scope, conditional.Span);
        for (var i = 0; i < complex.Count; i++) node.Outputs[i].IsComplex = complex[i];
        foreach (var bind in bindings) bind(node.Outputs);
        return then.Flow;
    }

    private static string FlowText(Flow flow) => flow switch
    {
        Flow.Return => "a return",
        Flow.Break => "a break",
        Flow.Continue => "a continue",
        _ => "falling through",
    };

    private Branch RunBranch(IReadOnlyList<Stmt> body, string name, Frame frame) => RunSubgraph(name, frame, (_, branchFrame) => Execute(body, branchFrame));

    /// <summary>
    /// Runs <paramref name="run"/> on a copy of the frame's locals with ops going to a new subgraph of the current graph
    /// (an If branch, a Loop body); the interpreter's own state is restored after.
    /// </summary>
    private Branch RunSubgraph(string name, Frame frame, Func<Graph, Frame, Flow> run)
    {
        var outerGraph = _graph;
        var outerMutated = new Dictionary<Value, Value>(_mutated, ReferenceEqualityComparer.Instance);
        var outerRetaken = new Dictionary<Value, (Value, Value)>(_retakenViews, ReferenceEqualityComparer.Instance);
        var branchFrame = new Frame(frame.Self);
        foreach (var (key, value) in frame.Locals) branchFrame.Locals[key] = value;
        _graph = outerGraph.CreateSubgraph(name);
        try
        {
            var flow = run(_graph, branchFrame);
            return new Branch(_graph, branchFrame.Locals, new Dictionary<Value, Value>(_mutated, ReferenceEqualityComparer.Instance), flow,
                branchFrame.ReturnValue);
        }
        finally
        {
            _graph = outerGraph;
            _mutated.Clear();
            foreach (var (key, value) in outerMutated) _mutated[key] = value;
            _retakenViews.Clear();
            foreach (var (key, value) in outerRetaken) _retakenViews[key] = value;
        }
    }

    /// <summary>A local as the branch left it: tensors through the branch's own in-place rebindings.</summary>
    private static object? Current(object? value, Branch branch) => value is Value v ? Resolve(v, branch.Mutated) : value;

    private static Value Resolve(Value value, Dictionary<Value, Value> mutated)
    {
        while (mutated.TryGetValue(value, out var next)) value = next;
        return value;
    }

    /// <summary>Tensors from before the <c>if</c> that either branch changed in place (rebindings of values the branches made themselves are internal).</summary>
    private IEnumerable<Value> MutatedOuterValues(Branch then, Branch otherwise)
    {
        var inner = new HashSet<Value>(DefinedValues(then.Graph).Concat(DefinedValues(otherwise.Graph)), ReferenceEqualityComparer.Instance);
        return then.Mutated.Keys.Concat(otherwise.Mutated.Keys)
            .Where(v => !_mutated.ContainsKey(v) && !inner.Contains(v))
            .Distinct(ReferenceEqualityComparer.Instance).Cast<Value>();
    }

    private static IEnumerable<Value> DefinedValues(Graph graph) =>
        graph.Inputs.Concat(graph.Nodes.SelectMany(n => n.Outputs.Concat(n.Subgraphs.SelectMany(DefinedValues))));

    /// <summary>
    /// How to rebuild a value after the If from its two branch values: unchanged when both are the same; an If output
    /// when both are tensors of one dtype, or ints, or bools (static ones become constants); item by item for tuples;
    /// a <see cref="RunTimeOptional"/> (two If outputs) when it is None after one branch and a tensor after the other;
    /// otherwise a <see cref="BranchConflict"/>.
    /// </summary>
    private Func<IReadOnlyList<Value>, object?> PlanMerge(object? inThen, object? inElse, string what, SourceSpan span, List<BranchOutput> outputs)
    {
        if (ReferenceEquals(inThen, inElse) || Equals(inThen, inElse)) return _ => inThen;
        if (inThen is PoisonValue || inElse is PoisonValue) return _ => inThen is PoisonValue ? inThen : inElse;
        if (inThen is TupleValue thenTuple && inElse is TupleValue elseTuple && thenTuple.Items.Count == elseTuple.Items.Count)
        {
            var items = thenTuple.Items.Zip(elseTuple.Items, (a, b) => PlanMerge(a, b, what, span, outputs)).ToList();
            return o => new TupleValue(items.Select(item => ThrowIfConflict(item(o))).ToList());
        }
        if ((inThen is null or RunTimeOptional || inElse is null or RunTimeOptional) &&
            OptionalParts(inThen, inElse) is { } thenParts && OptionalParts(inElse, inThen) is { } elseParts)
        {
            var present = PlanMerge(thenParts.Present, elseParts.Present, what, span, outputs);
            var tensor = PlanMerge(thenParts.Tensor, elseParts.Tensor, what, span, outputs);
            return o => new RunTimeOptional(RunTimeOperand(ThrowIfConflict(present(o))), (Value)ThrowIfConflict(tensor(o))!);
        }
        var isInt = inThen is long or DynamicInt && inElse is long or DynamicInt;
        var isBool = inThen is bool or Value { Type.ElementType: DataType.Bool } && inElse is bool or Value { Type.ElementType: DataType.Bool };
        var isFloat = inThen is double or RunTimeFloat && inElse is double or RunTimeFloat;
        if (isInt || isBool || isFloat || inThen is Value && inElse is Value)
        {
            Value thenValue = RunTimeOperand(inThen), elseValue = RunTimeOperand(inElse);
            if (thenValue.Type.ElementType != elseValue.Type.ElementType || thenValue.IsComplex != elseValue.IsComplex)
                return _ => new BranchConflict(DiagnosticCode.BranchTypeMismatch,
                    $"{what} is {DtypeText(thenValue)} in the then-branch and {DtypeText(elseValue)} in the else-branch " +
                    "of an `if` whose condition is only known at run time; ONNX If needs one dtype", span);
            // The same pair can reach the If twice (a local and the tensor it changed in place): one output serves both.
            var index = outputs.FindIndex(o => ReferenceEquals(o.Then, thenValue) && ReferenceEquals(o.Else, elseValue));
            if (index < 0)
            {
                index = outputs.Count;
                outputs.Add(new BranchOutput(thenValue, elseValue, what));
            }
            var kind = isInt ? PythonKind.Int : isFloat ? PythonKind.Float : PythonKind.Tensor;
            return o => AsPython(o[index], kind);
        }
        return _ => new BranchConflict(DiagnosticCode.UnsupportedConstruct,
            $"{what} is {DescribeValue(inThen)} in the then-branch and {DescribeValue(inElse)} in the else-branch of an `if` whose " +
            "condition is only known at run time; only tensors, ints, floats and bools can differ between the branches of an ONNX If", span);
    }

    /// <summary>
    /// A branch's value as an Optional tensor's flag and tensor: a tensor is present, None is absent with a placeholder of
    /// the other branch's dtype and rank (no elements); null when the value is neither (nor the other branch's a tensor).
    /// </summary>
    private (object Present, Value Tensor)? OptionalParts(object? value, object? other) => (value, other) switch
    {
        (RunTimeOptional optional, _) => (optional.Present, optional.Tensor),
        (Value tensor, _) => (true, tensor),
        (null, Value or RunTimeOptional) => (false, NonePlaceholder(other is Value v ? v.Type : ((RunTimeOptional)other).Tensor.Type)),
        _ => null,
    };

    private Value NonePlaceholder(TensorType type) =>
        _graph.AddInitializer("/none", new ConstantData(type.ElementType, new long[type.Shape?.Count ?? 1], Array.Empty<byte>()));

    /// <summary><c>unchecked_cast(Tensor, x)</c>: the tensor of a <see cref="RunTimeOptional"/> (after its None test), any other value as it is.</summary>
    private static object? Unwrapped(object? value) => value is RunTimeOptional optional ? optional.Tensor : value;

    /// <summary>A branch or loop value as a graph value: static ints and bools become 0-d constants (int64, bool).</summary>
    /// <summary>What an If output or a loop-carried value is to the code: a tensor, or a Python int or float carried as a 0-d value.</summary>
    private enum PythonKind { Tensor, Int, Float }

    private static PythonKind KindOf(object? value) => value switch
    {
        long or DynamicInt => PythonKind.Int,
        double or RunTimeFloat => PythonKind.Float,
        _ => PythonKind.Tensor,
    };

    /// <summary>An If output or loop-carried value as the code sees it (<see cref="RunTimeOperand"/> the other way).</summary>
    private static object AsPython(Value value, PythonKind kind) => kind switch
    {
        PythonKind.Int => new DynamicInt(value),
        PythonKind.Float => new RunTimeFloat(value),
        _ => value,
    };

    private Value RunTimeOperand(object? value) => value switch
    {
        Value v => v,
        DynamicInt d => d.Scalar,
        RunTimeFloat f => f.Scalar,
        long l => _graph.AddInitializer("/scalar", new ConstantData(DataType.Int64, [], BitConverter.GetBytes(l))),
        bool b => _graph.AddInitializer("/scalar", new ConstantData(DataType.Bool, [], new[] { b ? (byte)1 : (byte)0 })),
        double d => _graph.AddInitializer("/scalar", new ConstantData(DataType.Float64, [], BitConverter.GetBytes(d))), // a Python float
        _ => throw new InvalidOperationException($"not a run-time operand: {DescribeValue(value)}"),
    };

    private object? ThrowIfConflict(object? value) =>
        value is BranchConflict conflict ? throw new ModelForgeException(conflict.Code, conflict.Message, _model.Locate(conflict.Span),
            "make both branches give a tensor of the same dtype (or move the code after the `if` into each branch)") : value;

    /// <summary>
    /// Whether an <c>if</c> is an empty-input guard, and which branch is the empty case: true (the else-branch) for
    /// <c>n > 0</c>, <c>n != 0</c> and <c>n >= 1</c>; false (the then-branch) for <c>n == 0</c>, <c>n &lt;= 0</c> and
    /// <c>n &lt; 1</c>; null for any other condition. Scripted code spells them <c>torch.gt(n, 0)</c> and so on.
    /// </summary>
    private static bool? EmptyCaseOf(Expr condition)
    {
        var (op, bound) = condition switch
        {
            CallExpr { Function: AttributeExpr { Target: NameExpr { Id: "torch" }, Name: var name }, Args: [_, ConstantExpr { Value: long b }] } => (name, b),
            CompareExpr { Ops: [var symbol], Comparators: [ConstantExpr { Value: long b }] } => (symbol switch
            {
                ">" => "gt", "!=" => "ne", ">=" => "ge", "==" => "eq", "<=" => "le", "<" => "lt", _ => "",
            }, b),
            _ => ("", -1L),
        };
        return (op, bound) switch
        {
            ("gt" or "ne", 0) or ("ge", 1) => true,
            ("eq" or "le", 0) or ("lt", 1) => false,
            _ => null,
        };
    }

    /// <summary>
    /// An If output of an empty-input guard (<c>if n > 0: x = x.reshape(n, -1, 4)</c>, where the reshape would fail on no
    /// rows) whose branches give tensors of different ranks: the empty case's tensor is reshaped, in its branch, to the
    /// other branch's rank with zero elements, so the If output has one rank for the code after it. The Reshape keeps
    /// zeros as sizes (allowzero, opset 14+), so a non-empty tensor there fails at run time instead of giving a wrong
    /// graph; MF2046 says what was assumed. Other ifs keep differing ranks as an output of unknown rank.
    /// </summary>
    private BranchOutput AlignRanks(BranchOutput output, Graph emptyGraph, bool emptyIsElse, OpContext context, IfStmt conditional)
    {
        if (output.Then.Type.Shape is not { } thenShape || output.Else.Type.Shape is not { } elseShape || thenShape.Count == elseShape.Count)
            return output;
        var (empty, other) = emptyIsElse ? (output.Else, output.Then) : (output.Then, output.Else);
        var (emptyName, otherName) = emptyIsElse ? ("else", "then") : ("then", "else");
        if (context.Opset < 14)
            throw context.NeedsOpset(14, $"{output.What} of rank {thenShape.Count} in the then-branch and {elseShape.Count} in the else-branch " +
                                         "(the empty case's tensor is reshaped with Reshape's allowzero)");
        var dims = other.Type.Shape!.Select(d => d.IsStatic ? d.Value!.Value : 0).ToArray();
        if (dims.All(d => d != 0)) dims[0] = 0;
        var branch = new OpContext(emptyGraph, context.Opset, context.OpName, context.Scope, context.Span, context.Location);
        var reshaped = branch.Op("Reshape", [empty, branch.ConstInt64(dims)], empty.Type.WithShape(dims.Select(Dim.Of).ToArray()), ("allowzero", 1));
        _warnings.Add(new Diagnostic(DiagnosticCode.BranchRankAssumedEmpty,
            $"{output.What} has rank {thenShape.Count} after the then-branch and {elseShape.Count} after the else-branch of an empty-input " +
            $"guard whose condition is only known at run time; the converted graph gives it rank {other.Type.Shape!.Count} and takes the " +
            $"{emptyName}-branch's tensor (the empty case) to have no elements", _model.Locate(conditional.Span),
            $"the converted model fails at run time if the {emptyName}-branch gives a non-empty tensor; if it can, give both branches the " +
            $"rank of the {otherName}-branch", DiagnosticSeverity.Warning));
        return emptyIsElse ? output with { Else = reshaped } : output with { Then = reshaped };
    }

    /// <summary>Both branches' types in one: the dtype (they agree), equal dims kept, differing dims unknown, differing ranks unknown.</summary>
    private static TensorType MergeTypes(TensorType a, TensorType b)
    {
        if (a.Shape is not { } first || b.Shape is not { } second || first.Count != second.Count) return a.WithShape(null);
        return a.WithShape(first.Zip(second, (x, y) => x == y ? x : Shapes.Unknown()).ToArray());
    }

    /// <summary>An If condition: a bool scalar, as ONNX needs (a nonzero number is true, as Python's bool()).</summary>
    private static Value BoolScalar(OpContext context, Value condition)
    {
        var flag = context.Cast(condition, DataType.Bool);
        return flag.Type.Shape is { Count: 0 } ? flag
            : context.Op("Reshape", [flag, context.ConstInt64([], [0])], TensorType.Scalar(DataType.Bool));
    }

    private OpContext ControlFlowContext(string op, SourceSpan span, Frame frame) =>
        new(_graph, _opset, op, ScopeOf(frame), span, _model.Locate(span));

    private static string ScopeOf(Frame frame) => ("/" + frame.Self.Path.Replace('.', '/')).TrimEnd('/');
}
