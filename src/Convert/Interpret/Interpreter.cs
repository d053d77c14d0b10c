using System.Globalization;
using ModelForge.Convert.IR;
using ModelForge.Convert.Ops;
using ModelForge.Convert.Ops.Handlers;
using ModelForge.Core.Diagnostics;
using ModelForge.TorchScript.Archive;
using ModelForge.TorchScript.Module;
using ModelForge.TorchScript.Pickle;
using ModelForge.TorchScript.Script;

namespace ModelForge.Convert.Interpret;

/// <summary>
/// Runs a module's TorchScript methods symbolically. Python-level values (ints, lists, modules) are evaluated
/// at conversion time; every tensor operation goes through the op registry, which adds ONNX nodes to the
/// graph. Unsupported ops do not stop the run: their results are <see cref="PoisonValue"/>s, and all of them
/// are reported together at the end.
/// </summary>
public sealed partial class Interpreter
{
    private const int MaxCallDepth = 200;
    private const int MaxLoopIterations = 100_000;

    private readonly TorchScriptModel _model;
    private Graph _graph; // the graph ops go to: the main graph, or an If branch being interpreted
    private readonly OpRegistry _registry;
    private readonly int _opset;
    private readonly Dictionary<TensorData, Value> _weights = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<int, Value> _constantTensors = [];
    // In-place ops (relu_, add_) rebind the mutated tensor: later reads of the old value see the new one.
    private readonly Dictionary<Value, Value> _mutated = new(ReferenceEqualityComparer.Instance);
    /// <summary>Views taken again from the tensor they view after it changed in place (<see cref="Retaken"/>): the base they were taken from, and the new view.</summary>
    private readonly Dictionary<Value, (Value Base, Value View)> _retakenViews = new(ReferenceEqualityComparer.Instance);
    /// <summary>Lists that a run-time loop grew (<see cref="RunTimeList"/>): every later read of the list object gets the run-time list.</summary>
    private readonly Dictionary<List<object?>, RunTimeList> _grownLists = new(ReferenceEqualityComparer.Instance);
    private readonly List<UnsupportedCall> _unsupported = [];
    private readonly List<Diagnostic> _warnings = [];
    private int _depth;

    public Interpreter(TorchScriptModel model, Graph graph, OpRegistry registry, int opset)
    {
        _model = model; _graph = graph; _registry = registry; _opset = opset;
    }

    public IReadOnlyList<UnsupportedCall> UnsupportedCalls => _unsupported;

    /// <summary>What the run assumed and the user should know: checks only known at run time taken to pass, one per source line.</summary>
    public IReadOnlyList<Diagnostic> Warnings => _warnings;

    /// <summary>Handlers may emit ONNX Runtime's fused attention (<see cref="ConvertOptions.FusedAttention"/>).</summary>
    public bool FusedAttention { get; init; }

    /// <summary>One call of an op with no handler (or none at this opset), with where it is.</summary>
    public sealed record UnsupportedCall(string Op, SourceLocation Location, int? MinimumOpset);

    public ModuleValue RootModule()
    {
        var root = _model.Root;
        return new ModuleValue(root, _model.ResolveClass(root.ClassName), root.ClassName, "");
    }

    public object? CallMethod(ModuleValue self, string methodName, IReadOnlyList<object?> args, SourceSpan? callSite = null)
    {
        var method = self.Class.Methods.FirstOrDefault(m => m.Name == methodName)
            ?? throw new ModelForgeException(DiagnosticCode.ScriptClassMissing,
                $"class '{self.QualifiedClassName}' has no method '{methodName}'",
                callSite is { } site ? _model.Locate(site) : new SourceLocation(_model.Archive.FilePath));
        return Invoke(method, self, isMethod: true, args, new Dictionary<string, object?>(), $"{self.QualifiedClassName}.{methodName}");
    }

    /// <summary>Runs a method (bound to <paramref name="self"/>) or a free function (run in the caller's module, for op scopes).</summary>
    private object? Invoke(FunctionDef function, ModuleValue self, bool isMethod, IReadOnlyList<object?> args,
        IReadOnlyDictionary<string, object?> keywords, string displayName)
    {
        if (++_depth > MaxCallDepth)
            throw Unsupported(function.Span, $"calls nest deeper than {MaxCallDepth} levels (recursion is not supported)");
        try
        {
            var frame = new Frame(self);
            var parameters = function.Parameters;
            var offset = 0;
            if (isMethod)
            {
                offset = parameters.Count > 0 && parameters[0].Name == "self" ? 1 : 0;
                frame.Locals[parameters.Count > 0 ? parameters[0].Name : "self"] = self;
            }
            for (var i = offset; i < parameters.Count; i++)
            {
                var argIndex = i - offset;
                frame.Locals[parameters[i].Name] = argIndex < args.Count ? args[argIndex]
                    : keywords.TryGetValue(parameters[i].Name, out var named) ? named
                    : parameters[i].Default is { } d ? Evaluate(d, frame)
                    : throw Unsupported(function.Span, $"missing argument '{parameters[i].Name}' for {displayName}");
            }
            return Execute(function.Body, frame) == Flow.Return ? frame.ReturnValue : null;
        }
        finally
        {
            _depth--;
        }
    }

    // ---- statements ------------------------------------------------------------------------------

    private enum Flow { Normal, Return, Break, Continue }

    private sealed class Frame(ModuleValue self)
    {
        public ModuleValue Self { get; } = self;
        public Dictionary<string, object?> Locals { get; } = new(StringComparer.Ordinal);
        public object? ReturnValue { get; set; }
    }

    private Flow Execute(IReadOnlyList<Stmt> body, Frame frame)
    {
        foreach (var statement in body)
        {
            var flow = Execute(statement, frame);
            if (flow != Flow.Normal) return flow;
        }
        return Flow.Normal;
    }

    private Flow Execute(Stmt statement, Frame frame)
    {
        switch (statement)
        {
            case AssignStmt assign:
                var value = Evaluate(assign.Value, frame);
                foreach (var target in assign.Targets) Assign(target, value, frame);
                return Flow.Normal;
            case AnnAssignStmt { Value: { } annotated } ann:
                Assign(ann.Target, Evaluate(annotated, frame), frame);
                return Flow.Normal;
            case AnnAssignStmt:
            case PassStmt:
                return Flow.Normal;
            case ExprStmt expr:
                Evaluate(expr.Value, frame);
                return Flow.Normal;
            case ReturnStmt ret:
                frame.ReturnValue = ret.Value is null ? null : Evaluate(ret.Value, frame);
                return Flow.Return;
            case IfStmt conditional:
                return GuardCondition(conditional, frame) switch
                {
                    bool taken => Execute(taken ? conditional.Then : conditional.Else, frame),
                    var runTime => ExecuteRunTimeIf(conditional, (Value)runTime, frame),
                };
            case ForStmt loop:
                return ExecuteFor(loop, frame);
            case WhileStmt loop:
                for (var i = 0; ; i++)
                {
                    // Unrolled while the condition is known; from the first iteration it is not, the rest is an ONNX Loop.
                    var condition = Condition(loop.Condition, frame);
                    if (condition is not bool holds) return ExecuteRunTimeWhile(loop, (Value)condition, frame);
                    if (!holds) break;
                    if (i >= MaxLoopIterations) throw Unsupported(loop.Span, $"while loop runs more than {MaxLoopIterations} iterations at conversion time");
                    var flow = Execute(loop.Body, frame);
                    if (flow == Flow.Break) break;
                    if (flow == Flow.Return) return flow;
                }
                return Flow.Normal;
            case BreakStmt: return Flow.Break;
            case ContinueStmt: return Flow.Continue;
            case AssertStmt assert:
                if (DecideCheck(assert.Condition, assert.Span, frame) is false)
                    throw Unsupported(assert.Span, "an assert in the model fails for the declared inputs");
                return Flow.Normal;
            case RaiseStmt raise:
                throw Unsupported(raise.Span, "the model raises an exception for the declared inputs");
            default:
                throw Unsupported(statement.Span, $"statement '{statement.GetType().Name.Replace("Stmt", "")}' is not supported");
        }
    }

    private Flow ExecuteFor(ForStmt loop, Frame frame)
    {
        // range() with a run-time bound (a dynamic dim's size) is an ONNX Loop; with static bounds the loop unrolls.
        if (loop.Iterable is CallExpr { Function: NameExpr { Id: "range" }, Keywords.Count: 0 } rangeCall && !frame.Locals.ContainsKey("range"))
        {
            var bounds = rangeCall.Args.Select(a => Evaluate(a, frame)).ToList();
            if (bounds.Any(b => b is DynamicInt)) return ExecuteRunTimeFor(loop, bounds, frame);
            return ExecuteUnrolled(loop, StaticRange(bounds, rangeCall.Span), frame);
        }
        var iterable = Evaluate(loop.Iterable, frame);
        if (iterable is Value or RunTimeList) return ExecuteForOverTensor(loop, iterable as Value ?? ((RunTimeList)iterable).Stacked, frame);
        var items = iterable switch
        {
            List<object?> list => list.ToList(),
            TupleValue tuple => tuple.Items.ToList(),
            List<KeyValuePair<object?, object?>> dict => dict.Select(e => e.Key).ToList(), // `for k in head_outputs` (RetinaNet)
            ModuleValue module => ModuleChildren(module).Cast<object?>().ToList(),
            var other => throw Unsupported(loop.Iterable.Span, $"cannot iterate over {DescribeValue(other)} at conversion time"),
        };
        return ExecuteUnrolled(loop, items, frame);
    }

    private Flow ExecuteUnrolled(ForStmt loop, IReadOnlyList<object?> items, Frame frame)
    {
        foreach (var item in items)
        {
            Assign(loop.Target, item, frame);
            var flow = Execute(loop.Body, frame);
            if (flow == Flow.Break) break;
            if (flow == Flow.Return) return flow;
        }
        return Flow.Normal;
    }

    /// <summary>
    /// An <c>if</c>'s condition: a bool, or a run-time bool <see cref="Value"/> (lowered to ONNX If). A check whose branch
    /// only raises (<c>if hx.size() != expected: raise ...</c>) and whose condition is only known at run time is taken to
    /// pass (<see cref="DecideCheck"/>).
    /// </summary>
    private object GuardCondition(IfStmt conditional, Frame frame)
    {
        var raisesInThen = AlwaysRaises(conditional.Then);
        if (!raisesInThen && !AlwaysRaises(conditional.Else)) return Condition(conditional.Condition, frame);
        return DecideCheck(conditional.Condition, conditional.Span, frame) ?? !raisesInThen;
    }

    /// <summary>
    /// The condition of a check that raises when it fails: its truth when known at conversion time. When it is only known
    /// at run time, null: the check is taken to pass, as tracing would (an ONNX graph cannot raise, so the converted graph
    /// is for the inputs the model accepts), and a warning names the check.
    /// </summary>
    private bool? DecideCheck(Expr condition, SourceSpan check, Frame frame)
    {
        string undecided;
        try
        {
            var value = Evaluate(condition, frame);
            if (value is UndecidedComparison comparison) undecided = comparison.Text;
            else if (Truth(value, condition.Span) is bool known) return known;
            else undecided = $"it depends on {DescribeValue(value)}";
        }
        catch (ModelForgeException e) when (e.Code == DiagnosticCode.UnsupportedConstruct)
        {
            undecided = e.Diagnostics[0].Message;
        }
        WarnCheckAssumed(undecided, check);
        return null;
    }

    /// <summary>MF2045 once per check: a check known only at run time that the converted graph takes to pass.</summary>
    private void WarnCheckAssumed(string undecided, SourceSpan check)
    {
        var location = _model.Locate(check);
        if (_warnings.All(w => w.Location != location))
            _warnings.Add(new Diagnostic(DiagnosticCode.RunTimeCheckAssumed,
                $"a check that raises when it fails is only known at run time ({undecided}); it is taken to pass, as tracing would",
                location, "ONNX graphs cannot raise: the converted model computes on as if the check passed, so give it only " +
                          "inputs this check accepts", DiagnosticSeverity.Warning));
    }

    private static bool AlwaysRaises(IReadOnlyList<Stmt> body) =>
        body.Count > 0 && body[^1] is RaiseStmt or ExprStmt { Value: CallExpr { Function: AttributeExpr { Name: "RaiseException" } } } &&
        body.SkipLast(1).All(s => s is AssignStmt);

    private bool StaticCondition(Expr condition, Frame frame) => Condition(condition, frame) switch
    {
        bool b => b,
        var runTime => throw Unsupported(condition.Span,
            $"a condition depends on {DescribeValue(runTime)}, which is only known at run time (data-dependent control flow " +
            "is lowered to ONNX If only for an `if` statement)"),
    };

    /// <summary>A condition's truth: a bool when known at conversion time, else the run-time tensor (or int) it tests.</summary>
    private object Condition(Expr condition, Frame frame) => Truth(Evaluate(condition, frame), condition.Span);

    private object Truth(object? value, SourceSpan span) => value switch
    {
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        null => false,
        string s => s.Length > 0,
        List<object?> list => list.Count > 0,
        Value v when v.Constant is { ElementCount: 1 } c => c.Bytes.Span.IndexOfAnyExcept((byte)0) >= 0,
        Value v => v,
        DynamicInt d => d.Scalar,
        UndecidedComparison undecided => throw Unsupported(undecided.Span, $"{undecided.Text} is only known at run time, and " +
            "what it decides is more than a check that raises (only such a check is taken to pass)"),
        PoisonValue poison when _unsupported.Count > 0 => throw Unsupported(span,
            $"a condition depends on the result of {poison.Op}, which cannot be converted: {_unsupported[0].Op} has no handler " +
            $"(called at {_unsupported[0].Location})"),
        var other => throw Unsupported(span, $"a condition depends on {DescribeValue(other)}, which has no truth value here"),
    };

    private void Assign(Expr target, object? value, Frame frame)
    {
        switch (target)
        {
            case NameExpr name:
                frame.Locals[name.Id] = value;
                break;
            case TupleExpr or ListExpr:
                var targets = target is TupleExpr t ? t.Items : ((ListExpr)target).Items;
                var items = value switch
                {
                    TupleValue tuple => tuple.Items,
                    List<object?> list => list,
                    PoisonValue => targets.Select(_ => value).ToList(),
                    _ => throw Unsupported(target.Span, $"cannot unpack {DescribeValue(value)}"),
                };
                if (items.Count != targets.Count)
                    throw Unsupported(target.Span, $"cannot unpack {items.Count} values into {targets.Count} names");
                for (var i = 0; i < targets.Count; i++) Assign(targets[i], items[i], frame);
                break;
            case AttributeExpr { Target: var owner, Name: var attribute } when Evaluate(owner, frame) is ModuleValue module:
                AssignAttribute(module, attribute, value, target.Span);
                break;
            case SubscriptExpr { Target: var container, Index: var indexExpr }
                when Evaluate(container, frame) is List<object?> list && Evaluate(indexExpr, frame) is long index:
                list[(int)(index < 0 ? index + list.Count : index)] = value;
                break;
            default:
                throw Unsupported(target.Span, "assignment to this kind of target is not supported");
        }
    }

    // ---- expressions -----------------------------------------------------------------------------

    /// <summary>A dotted name that is not a local: <c>torch</c>, <c>torch.relu</c>, <c>ops.prim</c>, <c>CONSTANTS</c>, a builtin.</summary>
    private sealed record Namespace(string Path);

    private object? Evaluate(Expr expression, Frame frame)
    {
        switch (expression)
        {
            case ConstantExpr constant:
                return constant.Value;
            case NameExpr name:
                if (frame.Locals.TryGetValue(name.Id, out var local)) return Current(ThrowIfConflict(local));
                // The serializer writes non-finite float constants as bare names.
                return name.Id switch { "inf" => double.PositiveInfinity, "nan" => double.NaN, _ => new Namespace(name.Id) };
            case AttributeExpr attribute:
                return EvaluateAttribute(attribute, frame);
            case CallExpr call:
                return EvaluateCall(call, frame);
            case TupleExpr tuple:
                return new TupleValue(tuple.Items.Select(i => Evaluate(i, frame)).ToList());
            case ListExpr list:
                return list.Items.Select(i => Evaluate(i, frame)).ToList();
            case DictExpr dict:
                return dict.Keys.Zip(dict.Values, (k, v) => new KeyValuePair<object?, object?>(Evaluate(k, frame), Evaluate(v, frame))).ToList();
            case SubscriptExpr subscript:
                return EvaluateSubscript(subscript, frame);
            case UnaryExpr unary:
                return PythonOps.Unary(unary.Op, Evaluate(unary.Operand, frame), () => Unsupported(unary.Span, $"operator '{unary.Op}' on this value"));
            case BinaryExpr binary:
                return EvaluateBinary(binary, frame);
            case CompareExpr compare:
                return EvaluateCompare(compare, frame);
            case BoolOpExpr boolOp:
                foreach (var item in boolOp.Values)
                {
                    var truth = StaticCondition(item, frame);
                    if (boolOp.Op == "and" && !truth) return false;
                    if (boolOp.Op == "or" && truth) return true;
                }
                return boolOp.Op == "and";
            case IfExpr conditional:
                return Evaluate(StaticCondition(conditional.Condition, frame) ? conditional.Body : conditional.OrElse, frame);
            case ListCompExpr comprehension:
                var iterable = Evaluate(comprehension.Iterable, frame) switch
                {
                    List<object?> l => l, TupleValue t => t.Items,
                    var other => throw Unsupported(comprehension.Span, $"cannot iterate over {DescribeValue(other)}"),
                };
                return iterable.Select(item => { Assign(comprehension.Target, item, frame); return Evaluate(comprehension.Element, frame); }).ToList();
            default:
                throw Unsupported(expression.Span, $"expression '{expression.GetType().Name.Replace("Expr", "")}' is not supported");
        }
    }

    private object? Current(object? value) => value switch
    {
        Value v => Resolve(v),
        List<object?> list when _grownLists.TryGetValue(list, out var grown) => grown,
        _ => value,
    };

    private Value Resolve(Value value)
    {
        while (_mutated.TryGetValue(value, out var next)) value = next;
        return value.View is { } view && Resolve(view.Base) is var currentBase && !ReferenceEquals(currentBase, view.Base)
            ? Retaken(value, view, currentBase) : value;
    }

    /// <summary>
    /// A view read after the tensor it views changed in place (<c>v = x[:, :2]; x.add_(1); return v</c>): in torch it
    /// shows the change, so it is taken again from the tensor as it is now (once per change of that tensor).
    /// </summary>
    private Value Retaken(Value stale, ViewOf view, Value currentBase)
    {
        if (_retakenViews.TryGetValue(stale, out var retaken) && ReferenceEquals(retaken.Base, currentBase)) return retaken.View;
        var span = stale.Producer?.Origin ?? default;
        var context = new OpContext(_graph, _opset, "view", "/retaken_view", span, _model.Locate(span));
        var taken = Views.Retake(context, view with { Base = currentBase }, stale);
        taken.View = view with { Base = currentBase };
        _retakenViews[stale] = (currentBase, taken);
        return taken;
    }

    private object? EvaluateAttribute(AttributeExpr attribute, Frame frame)
    {
        var target = Evaluate(attribute.Target, frame);
        return target switch
        {
            ModuleValue module => ModuleAttribute(module, attribute.Name, attribute.Span),
            Namespace { Path: "CONSTANTS" } when attribute.Name.StartsWith('c') && int.TryParse(attribute.Name[1..], out var index) =>
                ConstantAt(index, attribute.Span),
            Namespace ns => new Namespace(ns.Path + "." + attribute.Name),
            PoisonValue poison => poison,
            _ => throw Unsupported(attribute.Span, $"attribute '{attribute.Name}' of {DescribeValue(target)} is not supported"),
        };
    }

    private object? ModuleAttribute(ModuleValue module, string name, SourceSpan span)
    {
        if (_assigned.TryGetValue(module.Object, out var assigned) && assigned.TryGetValue(name, out var set)) return set;
        object? raw = null;
        if (module.Object.State is PickleDict state ? !state.TryGetValue(name, out raw)
            : RestoredAttributes(module) is not { } restored || !restored.TryGetValue(name, out raw))
            throw Unsupported(span, $"module '{DisplayPath(module)}' ({module.QualifiedClassName}) has no attribute '{name}'");
        if (module.Object.State is not PickleDict) return raw; // set by __setstate__: interpreter values already
        return raw switch
        {
            PickleObject packed when packed.ClassName.StartsWith(PackedParamsPrefix, StringComparison.Ordinal) =>
                PackedParamsObject(packed, module, Join(module.Path, name), span),
            QuantizedTensorData quantized => QuantizedWeight(quantized, Join(module.Path, name)),
            PickleObject child => new ModuleValue(child, _model.ResolveClass(child.ClassName), child.ClassName, Join(module.Path, name)),
            TensorData tensor => Weight(tensor, Join(module.Path, name)),
            // A List[Tensor] attribute (a scripted nn.LSTM's _flat_weights).
            List<object?> items when items.Count > 0 && items.All(i => i is TensorData) =>
                items.Select((t, i) => (object?)Weight((TensorData)t!, Join(module.Path, $"{name}.{i}"))).ToList(),
            _ => FromPickle(raw),
        };
    }

    private static string Join(string path, string name) => path.Length == 0 ? name : path + "." + name;
    private static string DisplayPath(ModuleValue module) => module.Path.Length == 0 ? "<root>" : module.Path;

    /// <summary>Submodules in declaration order (iterating a Sequential/ModuleList in scripted code).</summary>
    private IEnumerable<ModuleValue> ModuleChildren(ModuleValue module) =>
        module.Object.State is PickleDict state
            ? state.Entries.Where(e => e.Value is PickleObject).Select(e =>
            {
                var child = (PickleObject)e.Value!;
                return new ModuleValue(child, _model.ResolveClass(child.ClassName), child.ClassName, Join(module.Path, (string)e.Key!));
            })
            : [];

    /// <summary>A parameter or buffer as an initializer named by its module path; shared tensors map to one initializer.</summary>
    private Value Weight(TensorData tensor, string path)
    {
        if (_weights.TryGetValue(tensor, out var existing)) return existing;
        var value = _graph.AddInitializer(path, new ConstantData(tensor.DataType, tensor.Shape.ToArray(), tensor.ContiguousBytes()));
        _weights[tensor] = value;
        return value;
    }

    private object? ConstantAt(int index, SourceSpan span)
    {
        if (index < 0 || index >= _model.Constants.Count)
            throw Unsupported(span, $"CONSTANTS.c{index} is not in constants.pkl ({_model.Constants.Count} constants)");
        if (_model.Constants[index] is TensorData tensor)
        {
            if (!_constantTensors.TryGetValue(index, out var value))
                _constantTensors[index] = value = _graph.AddInitializer($"CONSTANTS.c{index}",
                    new ConstantData(tensor.DataType, tensor.Shape.ToArray(), tensor.ContiguousBytes()));
            return value;
        }
        return FromPickle(_model.Constants[index]);
    }

    private static object? FromPickle(object? raw) => raw switch
    {
        PickleTuple tuple => new TupleValue(tuple.Items.Select(FromPickle).ToList()),
        List<object?> list => list.Select(FromPickle).ToList(),
        // A Dict attribute (IntermediateLayerGetter's return_layers): a dict value as a DictExpr makes it.
        PickleDict dict => dict.Entries.Select(e => new KeyValuePair<object?, object?>(FromPickle(e.Key), FromPickle(e.Value))).ToList(),
        System.Numerics.BigInteger big => (long)big,
        _ => raw,
    };

    private object? EvaluateSubscript(SubscriptExpr subscript, Frame frame)
    {
        var target = Evaluate(subscript.Target, frame);
        if (target is Namespace ns) return new TypeValue(ns.Path + "[...]"); // a type such as List[int]
        if (subscript.Index is SliceExpr slice && target is List<object?> sliced)
        {
            long? Bound(Expr? e) => e is null ? null : Evaluate(e, frame) as long?;
            return PythonOps.Slice(sliced, Bound(slice.Lower), Bound(slice.Upper), Bound(slice.Step));
        }
        var index = Evaluate(subscript.Index, frame);
        switch (target, index)
        {
            case (List<object?> list, long i):
                return Current(list[PythonOps.Index(i, list.Count, () => Unsupported(subscript.Span, "list index out of range"))]);
            case (TupleValue tuple, long i):
                return Current(tuple.Items[PythonOps.Index(i, tuple.Items.Count, () => Unsupported(subscript.Span, "tuple index out of range"))]);
            case (List<KeyValuePair<object?, object?>> dict, _):
                foreach (var (key, value) in dict) if (Equals(key, index)) return Current(value);
                throw Unsupported(subscript.Span, $"key {DescribeValue(index)} is not in the dict");
            case (PoisonValue, _):
                return target;
            default:
                throw Unsupported(subscript.Span, $"indexing {DescribeValue(target)} with {DescribeValue(index)} is not supported");
        }
    }

    private object? EvaluateBinary(BinaryExpr binary, Frame frame)
    {
        var left = Evaluate(binary.Left, frame);
        var right = Evaluate(binary.Right, frame);
        if (left is PoisonValue) return left;
        if (right is PoisonValue) return right;
        if (PythonOps.TryBinary(binary.Op, left, right, out var result)) return result;
        var op = binary.Op switch { "+" => "aten::add", "-" => "aten::sub", "*" => "aten::mul", "//" => "aten::floor_divide", "/" => "aten::div", _ => null };
        if (op is not null && IsNumber(left) && IsNumber(right) && (IsRunTimeNumber(left) || IsRunTimeNumber(right)))
            return RunTimeArithmetic(op, left, right, binary.Span, frame);
        throw Unsupported(binary.Span, $"operator '{binary.Op}' on {DescribeValue(left)} and {DescribeValue(right)}");
    }

    /// <summary>The aten ops of Python number arithmetic, as scripted code saves <c>a + b</c>, <c>a // b</c>, <c>a ** b</c>, ….</summary>
    private static readonly HashSet<string> NumberArithmeticOps = new(StringComparer.Ordinal)
    {
        "aten::add", "aten::sub", "aten::mul", "aten::floordiv", "aten::floor_divide", "aten::remainder", "aten::div", "aten::pow",
    };

    private static bool IsNumber(object? value) => value is long or double or DynamicInt or RunTimeFloat;

    private static bool IsRunTimeNumber(object? value) => value is DynamicInt or RunTimeFloat;

    /// <summary>
    /// Arithmetic on Python numbers some of which are known only at run time (sizes of dynamic dims, floats computed
    /// from them), written as an operator or saved as the aten call (<c>torch.add(torch.size(x, 0), 1)</c>): the aten op on
    /// 0-d tensors, and a number again: an int (<c>range()</c> of it is a run-time loop) when both are ints and the op is
    /// not true division, else a float.
    /// </summary>
    private object RunTimeArithmetic(string op, object? left, object? right, SourceSpan span, Frame frame)
    {
        var isFloat = op == "aten::div" || left is double or RunTimeFloat || right is double or RunTimeFloat;
        // A float is a double, as in Python: sizes scaled by a float and floored (a detector's resize) must round as there.
        object? Operand(object? value) => value switch
        {
            DynamicInt d => isFloat ? ControlFlowContext(op, span, frame).Cast(d.Scalar, DataType.Float64) : d.Scalar,
            RunTimeFloat f => f.Scalar,
            _ => value,
        };
        var result = (Value)CallOp(op, [Operand(left), Operand(right)], new Dictionary<string, object?>(), span, frame)!;
        return isFloat ? new RunTimeFloat(result) : new DynamicInt(result);
    }

    private object? EvaluateCompare(CompareExpr compare, Frame frame)
    {
        var left = Evaluate(compare.Left, frame);
        for (var i = 0; i < compare.Ops.Count; i++)
        {
            var right = Evaluate(compare.Comparators[i], frame);
            if (compare.Ops is [_] && left is List<object?> && right is List<object?> && !PythonOps.TryCompare(compare.Ops[i], left, right, out _))
                return new UndecidedComparison($"comparison '{compare.Ops[i]}' of {DescribeValue(left)} and {DescribeValue(right)}", compare.Span);
            if (!PythonOps.TryCompare(compare.Ops[i], left, right, out var holds))
                throw Unsupported(compare.Span, $"comparison '{compare.Ops[i]}' between {DescribeValue(left)} and {DescribeValue(right)} " +
                                                "is only known at run time (data-dependent control flow)");
            if (!holds) return false;
            left = right;
        }
        return true;
    }

    // ---- calls -----------------------------------------------------------------------------------

    private object? EvaluateCall(CallExpr call, Frame frame)
    {
        // (self.conv1).forward(x) and (conv1).forward(x): a method of a submodule.
        if (call.Function is AttributeExpr { Target: var receiverExpr, Name: var methodName } &&
            Evaluate(receiverExpr, frame) is ModuleValue receiver)
        {
            var methodArgs = call.Args.Select(a => Evaluate(a, frame)).ToList();
            if (receiver.Class.Methods.All(m => m.Name != methodName))
            {
                // Scripted code calls len(self.layers) / self.layers[i] on a ModuleList or Sequential as methods
                // the container class does not serialize.
                if (methodName == "__len__" && methodArgs.Count == 0) return (long)ModuleChildren(receiver).Count();
                if (methodName == "__getitem__" && methodArgs is [long index])
                {
                    var children = ModuleChildren(receiver).ToList();
                    return children[PythonOps.Index(index, children.Count, () => Unsupported(call.Span, "module list index out of range"))];
                }
            }
            return CallMethod(receiver, methodName, methodArgs, call.Span);
        }

        var function = Evaluate(call.Function, frame);
        if (function is PoisonValue) return function;
        if (function is not Namespace { Path: var path })
            throw Unsupported(call.Span, $"calling {DescribeValue(function)} is not supported");

        var args = call.Args.Select(a => Evaluate(a, frame)).ToList();
        var keywords = call.Keywords.ToDictionary(k => k.Name, k => Evaluate(k.Value, frame), StringComparer.Ordinal);

        if (path.StartsWith("__torch__.", StringComparison.Ordinal) && _model.ResolveFunction(path) is { } scriptFunction)
            return Invoke(scriptFunction, frame.Self, isMethod: false, args, keywords, path);
        // `CLASS.__new__(CLASS)`, then `(obj).__init__(...)`: an instance of a TorchScript class (torchvision's ImageList).
        if (path.StartsWith("__torch__.", StringComparison.Ordinal) && path.EndsWith(".__new__", StringComparison.Ordinal))
            return NewObject(path[..^".__new__".Length]);

        switch (path)
        {
            // annotate(int, box[0]) (Mask R-CNN's paste_mask_in_image): a 0-d tensor used as an int, converted as int() does.
            case "annotate" when args is [Namespace { Path: "int" }, Value tensor]: return CallOp("aten::Int", [tensor], keywords, call.Span, frame);
            case "annotate": return args.Count == 2 ? args[1] : throw Unsupported(call.Span, "annotate takes a type and a value");
            case "uninitialized": return null;
            case "unchecked_cast" when args.Count == 2: return Unwrapped(args[1]); // unchecked_cast(T, x): Optional[T] → T after a None check
            case "getattr" when args is [ModuleValue module, string attributeName]:
                return ModuleAttribute(module, attributeName, call.Span);
            case "len":
                return args is [List<object?> l] ? l.Count : args is [TupleValue t] ? t.Items.Count
                    : args is [RunTimeList list] ? ReadRunTimeList("aten::len", list, args, keywords, call.Span, frame)
                    : CallOp("aten::len", args, keywords, call.Span, frame);
            case "range":
                return StaticRange(args, call.Span);
            // bool(t > 0) on a run-time tensor stays a tensor, so an `if` on it is reported as data-dependent.
            case "bool" when args is [Value { Constant: null } runtime]:
                return runtime;
            case "int" or "float" or "bool" when args is [PoisonValue poison]:
                return poison;
            case "int" or "float" or "bool" when args is [var scalar] && scalar is not (Value or DynamicInt or RunTimeFloat):
                return PythonOps.Convert(path, scalar, () => Unsupported(call.Span, $"{path}() of {DescribeValue(scalar)}"));
            case "int": return CallOp("aten::Int", args, keywords, call.Span, frame);
            case "float": return CallOp("aten::Float", args, keywords, call.Span, frame);
            case "bool": return CallOp("aten::Bool", args, keywords, call.Span, frame);
            case "isinstance" when args is [var instance, var type]: return IsInstance(instance, type, call.Span);
            // torch.device("cpu"), the device traced factories (zeros, arange, new_zeros(…, device=…)) pass, is plain
            // data: ONNX graphs have no devices.
            case "torch.device": return args.Count > 0 ? args[0] : null;
        }

        var op = path switch
        {
            _ when path.StartsWith("torch.", StringComparison.Ordinal) => "aten::" + path["torch.".Length..],
            // ops.<namespace>.<name>: ops.prim.*, ops.aten.*, ops.quantized.*, and the registered operators of libraries
            // (ops.torchvision.nms → torchvision::nms).
            _ when path.StartsWith("ops.", StringComparison.Ordinal) && path.IndexOf('.', "ops.".Length) is var dot and > 0 =>
                path["ops.".Length..dot] + "::" + path[(dot + 1)..],
            _ => path,
        };
        if (args.OfType<RunTimeList>().FirstOrDefault() is { } runTimeList) return ReadRunTimeList(op, runTimeList, args, keywords, call.Span, frame);
        // min(k, x.size(0)) (torchvision's _topk_min) and min([len(masks), len(boxes)]) (scripted zip() over tensors) with
        // sizes known only at run time: a run-time int.
        if (op is "prim::min" or "prim::max" && (args is [List<object?> items] ? items : args) is { Count: > 0 } sizes &&
            sizes.Any(s => s is DynamicInt) && sizes.All(s => s is long or DynamicInt))
            return sizes.Skip(1).Aggregate(sizes[0], (a, b) => new DynamicInt(ControlFlowContext(op, call.Span, frame).Op(op == "prim::min" ? "Min" : "Max",
                [RunTimeOperand(a), RunTimeOperand(b)], TensorType.Scalar(DataType.Int64))));
        if (keywords.Count == 0 && TryFoldScripted(op, args, call.Span, frame, out var folded)) return folded;
        if (keywords.Count == 0 && NumberArithmeticOps.Contains(op) && args is [var left, var right] && IsNumber(left) && IsNumber(right) &&
            (IsRunTimeNumber(left) || IsRunTimeNumber(right)))
            return RunTimeArithmetic(op, left, right, call.Span, frame);
        // len(tensor) (scripted zip() over tensors): the size of its first dim.
        if (op == "aten::len" && args is [Value sized]) return CallOp("aten::size", [sized, 0L], keywords, call.Span, frame);
        return CallOp(op, args, keywords, call.Span, frame);
    }

    /// <summary>
    /// <c>isinstance(x, T)</c> in scripted code, where x's static type is a union (torchtext's RobertaEncoder:
    /// <c>isinstance(output, List[Tensor])</c> on a Union[Tensor, List[Tensor]]): decided by what the value is here.
    /// </summary>
    private bool IsInstance(object? value, object? type, SourceSpan span) => type switch
    {
        TupleValue types => types.Items.Any(t => IsInstance(value, t, span)),   // isinstance(boxes, (list, tuple)) (torchvision)
        Namespace { Path: "Tensor" or "torch.Tensor" } => value is Value,
        Namespace { Path: "int" } => value is long or DynamicInt,
        Namespace { Path: "float" } => value is double,
        Namespace { Path: "bool" } => value is bool,
        Namespace { Path: "str" } => value is string,
        Namespace { Path: "list" } or TypeValue { Text: ['L', 'i', 's', 't', ..] } => value is List<object?>,
        Namespace { Path: "tuple" } or TypeValue { Text: ['T', 'u', 'p', 'l', 'e', ..] } => value is TupleValue,
        Namespace { Path: "dict" } or TypeValue { Text: ['D', 'i', 'c', 't', ..] } => value is List<KeyValuePair<object?, object?>>,
        _ => throw Unsupported(span, $"isinstance() with the type {(type is Namespace ns ? ns.Path : DescribeValue(type))}"),
    };

    /// <summary>
    /// The ops scripted code applies to Python-level values (ints, bools, strings, lists, None): <c>torch.ne(torch.dim(x), 4)</c>,
    /// <c>torch.append(outs, y)</c>, <c>ops.prim.RaiseException(...)</c>. They fold at conversion time, so control flow
    /// on attributes, constants and static shapes folds too. Tensor operands go to the op registry instead.
    /// </summary>
    private bool TryFoldScripted(string op, IReadOnlyList<object?> args, SourceSpan span, Frame frame, out object? result)
    {
        result = null;
        if (op == "prim::RaiseException")
            throw Unsupported(span, "the model raises an exception for the declared inputs" +
                                    (args is [string message, ..] ? $": {message}" : ""));
        if (op == "prim::unchecked_cast" && args is [var only])
        {
            result = Unwrapped(only);
            return true;
        }
        // `mask is not None` on a mask that is None or a tensor depending on a run-time `if`: its run-time flag.
        if (op is "aten::__is__" or "aten::__isnot__" && args is [RunTimeOptional, null] or [null, RunTimeOptional])
        {
            var present = args.OfType<RunTimeOptional>().Single().Present;
            result = op == "aten::__isnot__" ? present
                : ControlFlowContext(op, span, frame).Op("Not", [present], TensorType.Scalar(DataType.Bool));
            return true;
        }
        if (op == "aten::warn") return true;
        // The nested tensor of nn.TransformerEncoder's fast path (2.6's scripted layers check src.dim(), src.dtype, its
        // device) is nested and otherwise answers as the padded values it stands for.
        if (args is [NestedTensor nested])
        {
            if (op == "prim::is_nested")
            {
                result = true;
                return true;
            }
            if (op is "prim::dtype" or "prim::device" or "aten::dim" or "aten::is_floating_point" or "prim::is_cuda" or "prim::is_sparse"
                or "prim::is_mkldnn" or "prim::is_meta" or "prim::requires_grad" or "aten::is_pinned" or "prim::is_quantized")
                args = [nested.Dense];
        }
        // torch._assert(condition, message): as an assert statement; a condition known only at run time is taken to hold,
        // with the warning of a check that only raises (DecideCheck): the converted graph is for inputs the model accepts.
        if (op == "aten::_assert" && args is [var condition, ..])
        {
            if (condition is false)
                throw Unsupported(span, "an assert in the model fails for the declared inputs" + (args is [_, string message] ? $": {message}" : ""));
            if (condition is not true) WarnCheckAssumed($"torch._assert of {DescribeValue(condition)}", span);
            return true;
        }
        if (op == "aten::dim" && args is [Value { Type.Shape: { } shape }])
        {
            result = (long)shape.Count;
            return true;
        }
        // Tensor properties of a converted graph value: a dense CPU tensor, not pinned, without autograd (conversion is eval mode).
        if (op is "prim::is_nested" or "prim::is_cuda" or "prim::is_sparse" or "prim::is_mkldnn"
                or "prim::is_meta" or "prim::requires_grad" or "aten::is_pinned" && args is [Value])
        {
            result = false;
            return true;
        }
        if (op == "prim::is_quantized" && args is [Value maybeQuantized])
        {
            result = Resolve(maybeQuantized).Quantized is not null;
            return true;
        }
        if (op == "aten::is_floating_point" && args is [Value { Type.ElementType: var elementType }])
        {
            result = elementType.IsFloatingPoint();
            return true;
        }
        // The converted model runs scripted, never traced (torchvision's `if torchvision._is_tracing()`: its eager path).
        if (op is "aten::is_grad_enabled" or "aten::is_autocast_enabled" or "aten::_get_tracing_state" or "aten::is_scripting" && args.Count == 0)
        {
            result = op == "aten::is_scripting";
            return true;
        }
        if (op == "prim::device" && args is [Value])
        {
            result = "cpu";
            return true;
        }
        // x.device.type (a device is its string here): "cpu" of "cpu", "cuda" of "cuda:0".
        if (op == "prim::type" && args is [string device])
        {
            result = device.Split(':')[0];
            return true;
        }
        // x.dtype as TorchScript spells it: the c10::ScalarType number (compared, or passed to torch.to).
        if (op == "prim::dtype" && args is [Value typed] &&
            Enumerable.Range(0, 16).FirstOrDefault(code => DataTypes.FromTorchScalarType(code) == typed.Type.ElementType, -1) is var scalarType and >= 0)
        {
            result = (long)scalarType;
            return true;
        }
        // List operations hold any items (tensors included).
        switch (op, args)
        {
            // `query is not key` on tensors: the same tensor object is the same graph value.
            case ("aten::__is__" or "aten::__isnot__", [Value left, Value right]):
                result = ReferenceEquals(Resolve(left), Resolve(right)) == (op == "aten::__is__");
                return true;
            // `mask is not None` on a tensor input (an Optional[Tensor] parameter that was given one), `self.map_levels is None`
            // on an object attribute (MultiScaleRoIAlign's LevelMapper, set by a run before saving), `scale_factor is not None`
            // on a float known only at run time (F.interpolate in a detector's transform).
            case ("aten::__is__" or "aten::__isnot__", [Value or ModuleValue or DynamicInt or RunTimeFloat, null] or [null, Value or ModuleValue or DynamicInt or RunTimeFloat]):
                result = op == "aten::__isnot__";
                return true;
            case ("aten::len", [List<object?> list]): result = (long)list.Count; return true;
            case ("aten::len", [TupleValue tuple]): result = (long)tuple.Items.Count; return true;
            // len(getattr(m, "_forward_hooks", {})) in PyTorch 2.x's TransformerEncoderLayer: a scripted module has no
            // hooks, so the default, an empty dict, is what it counts.
            case ("aten::len", [List<KeyValuePair<object?, object?>> dict]): result = (long)dict.Count; return true;
            case ("aten::append", [List<object?> list, var item]): list.Add(item); result = list; return true;
            // p.extend([p6, p7]) (torchvision's LastLevelP6P7).
            case ("aten::extend", [List<object?> list, List<object?> items]): list.AddRange(items); return true;
            // list(xs) copies; insert, pop, del xs[i] and xs[i] = v change the list itself, as in Python.
            case ("aten::list", [List<object?> items]): result = new List<object?>(items); return true;
            case ("aten::insert", [List<object?> list, long at, var item]):
                list.Insert((int)Math.Clamp(at < 0 ? at + list.Count : at, 0, list.Count), item);
                return true;
            case ("aten::pop", [List<object?> list, ..]) when args is [_] or [_, long]:
                var popped = PythonOps.Index(args is [_, long popAt] ? popAt : -1, list.Count, () => Unsupported(span, "pop from an empty list or index out of range"));
                result = Current(list[popped]);
                list.RemoveAt(popped);
                return true;
            case ("aten::Delete", [List<object?> list, long at]):
                list.RemoveAt(PythonOps.Index(at, list.Count, () => Unsupported(span, "list index out of range")));
                return true;
            case ("aten::_set_item", [List<object?> list, long at, var item]):
                list[PythonOps.Index(at, list.Count, () => Unsupported(span, "list assignment index out of range"))] = item;
                result = list;
                return true;
            case ("aten::__getitem__", [List<object?> list, long i]):
                result = Current(list[PythonOps.Index(i, list.Count, () => Unsupported(span, "list index out of range"))]);
                return true;
            case ("aten::__getitem__", [TupleValue tuple, long i]):
                result = Current(tuple.Items[PythonOps.Index(i, tuple.Items.Count, () => Unsupported(span, "tuple index out of range"))]);
                return true;
            // `input.size()[2:]` in scripted torch.nn.functional (group_norm's batch-size check), x.shape[-2:]: a list
            // slice, whatever its items (sizes known only at run time included).
            // `[n // groups, groups] + list(size[2:])` (the same check): a list copy (aten::list, above) and list concatenation.
            case ("aten::add", [List<object?> left, List<object?> right]): result = left.Concat(right).ToList(); return true;
            case ("aten::slice", [List<object?> list, ..]) when args.Skip(1).All(bound => bound is null or long):
                result = PythonOps.Slice(list, args.ElementAtOrDefault(1) as long?, args.ElementAtOrDefault(2) as long?, args.ElementAtOrDefault(3) as long?);
                return true;
            // xs.copy(): a new list of the same items, as list(xs) above.
            case ("aten::copy", [List<object?> list]): result = new List<object?>(list); return true;
            // Dicts of scripted code (IntermediateLayerGetter: `out = {}`, `if name in self.return_layers`, `out[k] = x`).
            case ("aten::dict", []): result = new List<KeyValuePair<object?, object?>>(); return true;
            // OrderedDict([(str(i), v) for i, v in enumerate(output)]) (torchvision's SSD backbones); d.keys(), d.values(), d.items().
            case ("aten::dict", [List<object?> pairs]) when pairs.All(p => p is TupleValue { Items.Count: 2 }):
                var built = new List<KeyValuePair<object?, object?>>();
                foreach (var pair in pairs.Cast<TupleValue>()) SetItem(built, pair.Items[0], pair.Items[1]);
                result = built;
                return true;
            case ("aten::keys", [List<KeyValuePair<object?, object?>> dict]): result = dict.Select(e => e.Key).ToList(); return true;
            case ("aten::values", [List<KeyValuePair<object?, object?>> dict]): result = dict.Select(e => Current(e.Value)).ToList(); return true;
            case ("aten::items", [List<KeyValuePair<object?, object?>> dict]):
                result = dict.Select(e => (object?)new TupleValue([e.Key, Current(e.Value)])).ToList();
                return true;
            case ("aten::__contains__", [List<KeyValuePair<object?, object?>> dict, string or long]):
                result = dict.Any(e => Equals(e.Key, args[1]));
                return true;
            case ("aten::__getitem__", [List<KeyValuePair<object?, object?>> dict, string or long]):
                var found = dict.FindIndex(e => Equals(e.Key, args[1]));
                result = found >= 0 ? Current(dict[found].Value) : throw Unsupported(span, $"key {DescribeValue(args[1])} is not in the dict");
                return true;
            // losses.update(detector_losses) (torchvision's GeneralizedRCNN): each entry set in order, as Python's dict.update.
            case ("aten::update", [List<KeyValuePair<object?, object?>> dict, List<KeyValuePair<object?, object?>> added]):
                foreach (var entry in added.ToList()) SetItem(dict, entry.Key, entry.Value);
                return true;
            case ("aten::_set_item", [List<KeyValuePair<object?, object?>> dict, string or long, var item]):
                SetItem(dict, args[1], item);
                result = dict;
                return true;
        }
        var comparison = op switch
        {
            "aten::eq" => "==", "aten::ne" => "!=", "aten::lt" => "<", "aten::le" => "<=", "aten::gt" => ">", "aten::ge" => ">=",
            _ => null,
        };
        // Sizes of the same symbolic dim compare equal though their value is only known at run time.
        if (comparison is not null && args is [DynamicInt, DynamicInt] && PythonOps.TryCompare(comparison, args[0], args[1], out var sameSize))
        {
            result = sameSize;
            return true;
        }
        if (args.Any(a => a is Value or DynamicInt or RunTimeFloat or PoisonValue or ModuleValue or Namespace or RunTimeOptional)) return false;
        switch (op, args)
        {
            case ("aten::len", [string text]): result = (long)text.Length; return true;
            // `for i in range(lo, hi, step)` is saved as a loop over range(__range_length(lo, hi, step)) that derives i
            // from the count with __derive_index.
            case ("aten::__range_length", [long, long, long]): result = (long)StaticRange(args, span).Count; return true;
            case ("aten::__derive_index", [long index, long start, long step]): result = start + index * step; return true;
            // `device.type in ["cpu", "cuda"]` (PyTorch 2.x's TransformerEncoderLayer fast-path check) and
            // `input.dim() not in (2, 3)` (scripted nn.GRU, torchaudio's Emformer).
            case ("aten::__contains__", [List<object?> items, string or long]): result = items.Contains(args[1]); return true;
            case ("aten::__contains__", [TupleValue tuple, string or long]): result = tuple.Items.Contains(args[1]); return true;
            case ("str", [var scalar]): result = FormatScalar(scalar); return true;
            case ("aten::find", [string text, string needle, long start, long end]):
                var found = text[(int)Math.Min(start, text.Length)..(int)Math.Min(end, text.Length)].IndexOf(needle, StringComparison.Ordinal);
                result = found < 0 ? -1L : found + start;
                return true;
            // any/all of List[bool] or List[int] (Python truthiness: an int is true when not 0).
            case ("aten::all" or "aten::any" or "all" or "any", [List<object?> flags]) when flags.All(f => f is bool or long):
                Func<object?, bool> truthy = f => f is bool b ? b : (long)f! != 0;
                result = op.EndsWith("all", StringComparison.Ordinal) ? flags.All(truthy) : flags.Any(truthy);
                return true;
            case ("aten::format", [string format, ..]):
                var parts = format.Split("{}");
                result = string.Concat(parts.Select((part, i) => i == 0 ? part : (args.Count > i ? FormatScalar(args[i]) : "{}") + part));
                return true;
            // `not (x.size() == y.size())`: as undecided as the comparison.
            case ("aten::__not__", [UndecidedComparison undecided]): result = undecided; return true;
            case ("aten::__not__", [var operand]):
                result = PythonOps.Unary("not", operand, () => Unsupported(span, "not on this value"));
                return true;
            case ("aten::__is__" or "aten::__isnot__", [var left, var right]):
                result = PythonOps.TryCompare(op == "aten::__is__" ? "is" : "is not", left, right, out var same) ? same : Equals(left, right) == (op == "aten::__is__");
                return true;
            // math.ceil / math.floor of a float in scripted code (Emformer's segment count): an int; math.log of a
            // number (WavLM's relative position buckets) and math.sqrt (1.13's scaled attention: q / math.sqrt(E)): a float.
            case ("aten::ceil" or "aten::floor", [double number]):
                result = (long)(op == "aten::ceil" ? Math.Ceiling(number) : Math.Floor(number));
                return true;
            case ("aten::log" or "aten::sqrt", [long or double]):
                var real = args[0] is long whole ? whole : (double)args[0]!;
                result = op == "aten::log" ? Math.Log(real) : Math.Sqrt(real);
                return true;
            case ("aten::neg", [long or double]):
                result = PythonOps.Unary("-", args[0], () => Unsupported(span, "neg"));
                return true;
            case ("prim::min" or "prim::max", [long or double, long or double]):
                var swap = PythonOps.TryCompare("<", args[0], args[1], out var less) && less;
                result = (op == "prim::min") == swap ? args[0] : args[1];
                return true;
            // sum(shift_size) > 0 (Swin3D) on a list of ints.
            case ("aten::sum", [List<object?> values]) when values.All(v => v is long): result = values.Cast<long>().Sum(); return true;
            case ("prim::min" or "prim::max", [List<object?> { Count: > 0 } values]) when values.All(v => v is long):
                result = op == "prim::min" ? values.Cast<long>().Min() : values.Cast<long>().Max();
                return true;
        }
        if (comparison is not null && args.Count == 2)
        {
            if (PythonOps.TryCompare(comparison, args[0], args[1], out var holds))
            {
                result = holds;
                return true;
            }
            if (args is [List<object?>, List<object?>])
            {
                result = new UndecidedComparison($"comparison of {DescribeValue(args[0])} and {DescribeValue(args[1])}", span);
                return true;
            }
            if (args[0] is List<object?> || args[1] is List<object?>)
                throw Unsupported(span, $"comparison of {DescribeValue(args[0])} and {DescribeValue(args[1])} is only known at run time");
        }
        var binary = op switch
        {
            "aten::add" => "+", "aten::sub" => "-", "aten::mul" => "*", "aten::floordiv" => "//", "aten::div" => "/",
            "aten::remainder" => "%", "aten::pow" => "**", "aten::__and__" => "&", "aten::__or__" => "|", "aten::__xor__" => "^",
            _ => null,
        };
        if (binary is null || args.Count != 2 || !PythonOps.TryBinary(binary, args[0], args[1], out result)) return false;
        if (binary is "&" or "|" or "^" && args[0] is bool && args[1] is bool) result = (long)result! != 0;
        return true;
    }

    /// <summary><c>d[key] = item</c>: replaces the key's value in place, or adds the key at the end (insertion order).</summary>
    private static void SetItem(List<KeyValuePair<object?, object?>> dict, object? key, object? item)
    {
        var slot = dict.FindIndex(e => Equals(e.Key, key));
        if (slot >= 0) dict[slot] = new(key, item);
        else dict.Add(new(key, item));
    }

    /// <summary>range() as a list; outside a for loop's header (where a run-time bound gives an ONNX Loop) its bounds must be static.</summary>
    private List<object?> StaticRange(IReadOnlyList<object?> args, SourceSpan span)
    {
        var bounds = args.Select(a => a as long? ?? throw Unsupported(span,
            $"range() bound {DescribeValue(a)} is not known at conversion time: only a for loop over range() with int bounds " +
            "becomes an ONNX Loop; elsewhere range() is evaluated at conversion time")).ToArray();
        var (start, stop, step) = bounds.Length switch { 1 => (0L, bounds[0], 1L), 2 => (bounds[0], bounds[1], 1L), _ => (bounds[0], bounds[1], bounds[2]) };
        if (step == 0)
            throw new ModelForgeException(DiagnosticCode.InvalidOpArguments, "range() with step 0", _model.Locate(span),
                "Python raises ValueError: range() arg 3 must not be zero");
        // Int128: the count of range(long.MinValue, long.MaxValue) does not fit in a long.
        var count = Int128.Max(0, ((Int128)stop - start + step - Math.Sign(step)) / step);
        if (count > MaxLoopIterations)
            throw Unsupported(span, $"range() has {count} elements; at most {MaxLoopIterations} are evaluated at conversion time");
        var range = new List<object?>((int)count);
        for (var k = 0L; k < (long)count; k++) range.Add(start + k * step);
        return range;
    }

    private static string FormatScalar(object? value) => value switch
    {
        null => "None",
        bool b => b ? "True" : "False",
        double d => d.ToString(CultureInfo.InvariantCulture),
        long l => l.ToString(CultureInfo.InvariantCulture),
        string s => s,
        _ => DescribeValue(value),
    };

    private object? CallOp(string op, IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> keywords, SourceSpan span, Frame frame)
    {
        // Look the op up before checking for poison, so ops downstream of an unsupported one are reported too.
        var handler = _registry.Resolve(op, _opset, out var minimumOpset);
        if (handler is null)
        {
            _unsupported.Add(new UnsupportedCall(op, _model.Locate(span), minimumOpset));
            return new PoisonValue(op);
        }
        if (args.Concat(keywords.Values).Any(a => a is RunTimeOptional))
            throw Unsupported(span, $"{op} is given a value that is None or a tensor depending on an `if` whose condition is only " +
                                    "known at run time (such a value can only be tested with `is None` and used after that test)");
        if (args.Concat(keywords.Values).Select(FindPoison).FirstOrDefault(p => p is not null) is { } poison)
        {
            // With no unsupported call, the poison is a result a handler leaves out (roi_pool's argmax): stop here.
            if (_unsupported.Count == 0)
                throw Unsupported(span, $"{op} uses {poison.Op}, which ModelForge does not compute");
            return new PoisonValue(op);
        }

        var location = _model.Locate(span);
        var context = new OpContext(_graph, _opset, op, ScopeOf(frame), span, location) { FusedAttention = FusedAttention };
        object? result;
        try
        {
            result = CarryQuantization(context, args, CallWithComplex(context, handler, args, keywords));
            Views.Record(op, args, result, location);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or IndexOutOfRangeException or OverflowException)
        {
            // Handlers index shapes the way the model's own code expects them; when they cannot, the declared
            // inputs almost always disagree with the model.
            throw new ModelForgeException(new Diagnostic(DiagnosticCode.ShapeMismatch,
                $"{op} cannot be lowered for arguments ({string.Join(", ", args.Select(DescribeValue))}): {e.Message}",
                location, "check that each --input's rank, dims and dtype match what the model expects " +
                          "(if they do, this is a ModelForge bug: please report it)"), e);
        }

        // An in-place op's first argument now holds the result.
        if (op.EndsWith('_') && !op.EndsWith("__", StringComparison.Ordinal) && args.Count > 0 &&
            args[0] is Value mutated && result is Value replacement && !ReferenceEquals(mutated, replacement))
        {
            _mutated[mutated] = replacement;
            if (Views.ChangesOnlyTheView(op)) return result;
            // The view's next in-place op (y.add_(1); y.mul_(2)) reads the replacement: it must write back too.
            replacement.View ??= mutated.View;
            // A view (x[:, 2:4]) mutated in place changes the tensor it views, and that one's base in turn.
            for (var view = mutated.View; view is not null; view = view.Base.View)
            {
                var current = Resolve(view.Base);
                var updated = Views.WriteBack(context, view with { Base = current }, replacement);
                _mutated[current] = updated;
                // The changed view is a view of the changed tensor, not a stale view of the old one (Resolve would take it again).
                replacement.View = view with { Base = updated };
                updated.View ??= current.View;
                replacement = updated;
            }
        }
        return result;
    }

    private static PoisonValue? FindPoison(object? value) => value switch
    {
        PoisonValue poison => poison,
        List<object?> list => list.Select(FindPoison).FirstOrDefault(p => p is not null),
        TupleValue tuple => tuple.Items.Select(FindPoison).FirstOrDefault(p => p is not null),
        _ => null,
    };

    private ModelForgeException Unsupported(SourceSpan span, string message) =>
        new(DiagnosticCode.UnsupportedConstruct, message, _model.Locate(span),
            "ModelForge converts traced models and scripted code whose control flow folds at conversion time or lowers to " +
            "ONNX If/Loop (see README: scripted models)");

    /// <summary>A short human description of an interpreter value, for diagnostics.</summary>
    public static string DescribeValue(object? value) => value switch
    {
        null => "None",
        Value v => $"a tensor {v.Type}",
        long l => $"the int {l}",
        double d => $"the float {d.ToString(CultureInfo.InvariantCulture)}",
        bool b => b ? "True" : "False",
        string s => $"the string \"{s}\"",
        DynamicInt => "an int known only at run time",
        RunTimeFloat => "a float known only at run time",
        List<object?> list => $"a list of {list.Count}",
        TupleValue tuple => $"a tuple of {tuple.Items.Count}",
        ModuleValue module => $"the module {module.QualifiedClassName}",
        PoisonValue poison => $"the result of unsupported {poison.Op}",
        TypeValue type => $"the type {type.Text}",
        UndecidedComparison comparison => $"the result of a {comparison.Text} known only at run time",
        RunTimeOptional optional => $"None or a tensor {optional.Tensor.Type} (decided at run time)",
        RunTimeList list => $"a list of tensors {list.Stacked.Type.WithShape(list.Stacked.Type.Shape?.Skip(1).ToArray())} whose length is only known at run time",
        _ => value.GetType().Name,
    };
}
