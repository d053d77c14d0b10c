using ModelForge.Convert.IR;
using ModelForge.Convert.Ops;
using ModelForge.Core.Diagnostics;
using ModelForge.TorchScript.Script;

namespace ModelForge.Convert.Interpret;

// Loops whose trip count or condition is only known at run time: ONNX Loop.
public sealed partial class Interpreter
{
    // A carried tensor whose shape changes in the body gets merged dims and the body runs again; merged dims only
    // become unknown, so the second run already agrees. A tensor the body changes in place is found in one run and
    // carried from the next. The last run is a guard.
    private const int MaxLoopBodyRuns = 4;

    /// <summary>
    /// A value carried through a run-time loop: its value before the loop as a graph value, whether it is a Python int, and
    /// for a tensor from before the loop that the body changes in place (not a variable it assigns), that tensor.
    /// </summary>
    private sealed record LoopState(string Name, Value Initial, PythonKind Kind, Value? ChangedInPlace = null);

    /// <summary><c>for target in range(...)</c> with a run-time bound: ONNX Loop with that trip count.</summary>
    private Flow ExecuteRunTimeFor(ForStmt loop, IReadOnlyList<object?> bounds, Frame frame)
    {
        var (start, stop, step) = bounds.Count switch
        {
            1 => (0L, bounds[0], (object?)1L),
            2 => (bounds[0], bounds[1], 1L),
            _ => (bounds[0], bounds[1], bounds[2]),
        };
        if (step is not 1L || start is not (long or DynamicInt) || stop is not (long or DynamicInt))
            throw Unsupported(loop.Iterable.Span, $"a range() with a run-time bound is lowered to ONNX Loop only with int bounds and step 1 " +
                                                  $"(got {string.Join(", ", bounds.Select(DescribeValue))})");
        if (loop.Target is not NameExpr target)
            throw Unsupported(loop.Target.Span, "a loop over a run-time range() must bind one name");
        var context = ControlFlowContext("prim::Loop", loop.Span, frame);
        var tripCount = start is 0L ? RunTimeOperand(stop)
            : context.Op("Sub", [RunTimeOperand(stop), RunTimeOperand(start)], TensorType.Scalar(DataType.Int64));
        return ExecuteRunTimeLoop(loop, loop.Body, frame, tripCount, null, (iteration, bodyFrame) =>
        {
            bodyFrame.Locals[target.Id] = start is 0L ? new DynamicInt(iteration)
                : new DynamicInt(ControlFlowContext("prim::Loop", loop.Span, bodyFrame)
                    .Op("Add", [iteration, RunTimeOperand(start)], TensorType.Scalar(DataType.Int64)));
            return null;
        });
    }

    /// <summary>
    /// <c>for item in tensor</c> (torchvision's <c>for class_id in torch.unique(idxs)</c>): the tensor's slices along its first
    /// dim, unrolled when that dim is static, else an ONNX Loop over its run-time size.
    /// </summary>
    private Flow ExecuteForOverTensor(ForStmt loop, Value tensor, Frame frame)
    {
        var span = loop.Iterable.Span;
        var noKeywords = new Dictionary<string, object?>();
        if (tensor.Type.Shape is not { Count: > 0 })
            throw Unsupported(span, $"cannot iterate over {DescribeValue(tensor)}: only a tensor of known rank 1 or more is iterated, along its first dim");
        var length = CallOp("aten::size", [tensor, 0L], noKeywords, span, frame);
        if (length is long count)
            return ExecuteUnrolled(loop, Enumerable.Range(0, (int)count).Select(i => CallOp("aten::select", [tensor, 0L, (long)i], noKeywords, span, frame)).ToList(), frame);
        if (loop.Target is not NameExpr target)
            throw Unsupported(loop.Target.Span, "a loop over a tensor whose length is only known at run time must bind one name");
        return ExecuteRunTimeLoop(loop, loop.Body, frame, RunTimeOperand(length), null, (iteration, bodyFrame) =>
        {
            bodyFrame.Locals[target.Id] = CallOp("aten::select", [tensor, 0L, new DynamicInt(iteration)], noKeywords, span, bodyFrame);
            return null;
        });
    }

    /// <summary>A <c>while</c> whose condition is only known at run time: ONNX Loop re-evaluating the condition after each run of the body.</summary>
    private Flow ExecuteRunTimeWhile(WhileStmt loop, Value condition, Frame frame)
    {
        var initial = BoolScalar(ControlFlowContext("prim::Loop", loop.Span, frame), condition);
        return ExecuteRunTimeLoop(loop, loop.Body, frame, null, initial, (_, bodyFrame) => loop.Condition);
    }

    /// <summary>
    /// ONNX Loop: the body runs symbolically once into the Loop's body subgraph. The variables from before the loop that
    /// the body assigns are the loop-carried state (tensors; ints, floats and bools as int64, float64 and bool scalars);
    /// any other value the body changes or a list it grows is an error naming the loop. A tensor from before the loop that the body
    /// changes in place (<c>keep_mask[indices] = True</c>) is carried too.
    /// </summary>
    /// <param name="bindIteration">Binds the loop's own names from the iteration number; returns the condition to evaluate after the body, if any.</param>
    private Flow ExecuteRunTimeLoop(Stmt loop, IReadOnlyList<Stmt> body, Frame frame, Value? tripCount, Value? condition,
        Func<Value, Frame, Expr?> bindIteration)
    {
        var context = ControlFlowContext("prim::Loop", loop.Span, frame);
        var states = new List<LoopState>();
        var unchanged = new List<(string Name, object? Value)>();
        foreach (var name in AssignedNames(body).Where(frame.Locals.ContainsKey))
        {
            var initial = Current(ThrowIfConflict(frame.Locals[name]));
            if (initial is Value or DynamicInt or long or bool or RunTimeFloat or double)
                states.Add(new LoopState(name, RunTimeOperand(initial), KindOf(initial)));
            else unchanged.Add((name, initial));
        }
        var lists = frame.Locals.Values.OfType<List<object?>>().Distinct(ReferenceEqualityComparer.Instance).Cast<List<object?>>()
            .Select(l => (List: l, l.Count)).ToList();

        var types = states.Select(s => s.Initial.Type).ToList();
        for (var run = 1; ; run++)
        {
            Value? conditionOut = null;
            var bodyRun = RunSubgraph(context.Scope + "/loop_body", frame, (graph, bodyFrame) =>
            {
                var iteration = graph.AddInput(graph.Name + "/iteration", TensorType.Scalar(DataType.Int64));
                var conditionIn = graph.AddInput(graph.Name + "/condition", TensorType.Scalar(DataType.Bool));
                for (var i = 0; i < states.Count; i++)
                {
                    var input = graph.AddInput($"{graph.Name}/{states[i].Name}", types[i]);
                    input.IsComplex = states[i].Initial.IsComplex;
                    if (states[i].ChangedInPlace is { } changed) _mutated[changed] = input;
                    else bodyFrame.Locals[states[i].Name] = AsPython(input, states[i].Kind);
                }
                var nextCondition = bindIteration(iteration, bodyFrame);
                var flow = Execute(body, bodyFrame);
                if (flow is Flow.Break or Flow.Return)
                    throw Unsupported(loop.Span, $"{FlowText(flow)} inside a loop whose trip count is only known at run time is not supported");
                conditionOut = nextCondition is null ? conditionIn
                    : Condition(nextCondition, bodyFrame) switch
                    {
                        bool holds => RunTimeOperand(holds),
                        var runTime => BoolScalar(ControlFlowContext("prim::Loop", loop.Span, bodyFrame), (Value)runTime),
                    };
                return flow;
            });

            var scans = AppendedPerIteration(lists, bodyRun, loop.Span);
            var changedInPlace = MutatedOuterValues(bodyRun, bodyRun).Where(v => states.All(s => !ReferenceEquals(s.ChangedInPlace, v))).ToList();
            if (changedInPlace.Count > 0)
            {
                if (run == MaxLoopBodyRuns)
                    throw Unsupported(loop.Span, "the tensors a loop whose trip count is only known at run time changes in place do not settle");
                states.AddRange(changedInPlace.Select((v, i) => new LoopState($"changed_in_place_{i}", v, PythonKind.Tensor, v)));
                types.AddRange(changedInPlace.Select(v => v.Type));
                continue;
            }
            foreach (var (name, before) in unchanged)
                if (!Equals(Current(bodyRun.Locals[name], bodyRun), before))
                    throw Unsupported(loop.Span, $"'{name}' ({DescribeValue(before)}) changes inside a loop whose trip count is only known at run " +
                                                 "time; only tensors, ints, floats and bools can be carried from one iteration to the next");

            var outputs = states.Select(s => s.ChangedInPlace is { } changed ? Resolve(changed, bodyRun.Mutated)
                : RunTimeOperand(Current(bodyRun.Locals[s.Name], bodyRun))).ToList();
            for (var i = 0; i < states.Count; i++)
                if (outputs[i].Type.ElementType != types[i].ElementType || outputs[i].IsComplex != states[i].Initial.IsComplex)
                    throw new ModelForgeException(DiagnosticCode.BranchTypeMismatch,
                        $"'{states[i].Name}' is {DtypeText(states[i].Initial)} before a loop whose trip count is only known at run time and " +
                        $"{DtypeText(outputs[i])} after its body; ONNX Loop needs one dtype per carried value",
                        _model.Locate(loop.Span), "keep each variable's dtype the same through the loop body");
            var merged = types.Zip(outputs, (type, output) => MergeTypes(type, output.Type)).ToList();
            if (run < MaxLoopBodyRuns && !merged.Zip(types, SameShape).All(same => same))
            {
                types = merged;
                continue;
            }

            bodyRun.Graph.AddSubgraphOutput(conditionOut!, bodyRun.Graph.Name);
            foreach (var output in outputs.Concat(scans.Select(s => s.Item))) bodyRun.Graph.AddSubgraphOutput(output, bodyRun.Graph.Name);
            // A scan output is the items of every iteration stacked along a new first dim.
            var scanTypes = scans.Select(s => s.Item.Type.WithShape(s.Item.Type.Shape is { } shape ? [Shapes.Unknown(), .. shape] : null));
            var node = _graph.AddNode("Loop", [tripCount, condition, .. states.Select(s => s.Initial)], [.. types, .. scanTypes],
                new SortedDictionary<string, AttributeValue>(StringComparer.Ordinal) { ["body"] = bodyRun.Graph }, context.Scope, loop.Span);
            for (var i = 0; i < node.Outputs.Count; i++)
                node.Outputs[i].IsComplex = i < states.Count ? states[i].Initial.IsComplex : scans[i - states.Count].Item.IsComplex;
            for (var i = 0; i < states.Count; i++)
                if (states[i].ChangedInPlace is { } changed) _mutated[changed] = node.Outputs[i];
                else frame.Locals[states[i].Name] = AsPython(node.Outputs[i], states[i].Kind);
            for (var i = 0; i < scans.Count; i++) _grownLists[scans[i].List] = new RunTimeList(node.Outputs[states.Count + i]);
            return Flow.Normal;
        }
    }

    /// <summary>
    /// The lists from before a run-time loop that its body grew: each must have been empty and get one tensor (or int)
    /// per iteration, which becomes a scan output of the Loop. The body's items are taken out again, since the list's
    /// items after the loop are the scan output (<see cref="RunTimeList"/>), and the body may run more than once.
    /// </summary>
    private List<(List<object?> List, Value Item)> AppendedPerIteration(List<(List<object?> List, int Count)> lists, Branch bodyRun, SourceSpan span)
    {
        var scans = new List<(List<object?> List, Value Item)>();
        foreach (var (list, count) in lists.Where(l => l.List.Count != l.Count))
        {
            var item = list.Count == 1 && count == 0 ? Current(list[0], bodyRun) : null;
            list.RemoveRange(count, list.Count - count);
            if (item is not (Value or DynamicInt) || _grownLists.ContainsKey(list))
                throw Unsupported(span, "a list grows inside a loop whose trip count is only known at run time in a way ONNX Loop cannot " +
                                        "carry: only a list that is empty before the loop and gets one tensor or int appended per " +
                                        "iteration (it becomes the Loop's scan output)");
            scans.Add((list, item as Value ?? ((DynamicInt)item).Scalar));
        }
        return scans;
    }

    /// <summary>
    /// What scripted code does with a <see cref="RunTimeList"/>: <c>len()</c>, <c>torch.stack</c> and <c>torch.cat</c> along
    /// dim 0 and indexing read the stacked items; anything else is refused by name.
    /// </summary>
    private object? ReadRunTimeList(string op, RunTimeList list, IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> keywords,
        SourceSpan span, Frame frame)
    {
        var dim = keywords.TryGetValue("dim", out var named) ? named : args.ElementAtOrDefault(1) ?? 0L;
        var itemRank = list.Stacked.Type.Shape?.Count - 1;
        var noKeywords = new Dictionary<string, object?>();
        return (op, args) switch
        {
            ("aten::len", [_]) => CallOp("aten::size", [list.Stacked, 0L], noKeywords, span, frame),
            ("aten::stack", [_] or [_, long]) when dim is 0L || itemRank is { } rank && dim is long d && d == -(rank + 1) => list.Stacked,
            ("aten::cat", [_] or [_, long]) when itemRank > 0 && (dim is 0L || dim is long d && d == -itemRank) =>
                CallOp("aten::flatten", [list.Stacked, 0L, 1L], noKeywords, span, frame),
            ("aten::__getitem__", [_, long or DynamicInt]) => CallOp("aten::select", [list.Stacked, 0L, args[1]], noKeywords, span, frame),
            _ => throw Unsupported(span, $"{op} on {DescribeValue(list)} (built by a loop whose trip count is only known at run time): " +
                                         "only len(), torch.stack and torch.cat along dim 0, indexing and iteration read such a list"),
        };
    }

    private static bool SameShape(TensorType a, TensorType b) =>
        a.Shape is null ? b.Shape is null : b.Shape is not null && a.Shape.SequenceEqual(b.Shape);

    /// <summary>The names a block of statements assigns (targets of assignments and of for loops, in nested blocks too), in order of first assignment.</summary>
    private static IEnumerable<string> AssignedNames(IReadOnlyList<Stmt> body)
    {
        static IEnumerable<string> Targets(Expr target) => target switch
        {
            NameExpr name => [name.Id],
            TupleExpr tuple => tuple.Items.SelectMany(Targets),
            ListExpr list => list.Items.SelectMany(Targets),
            _ => [],
        };
        static IEnumerable<string> Walk(IReadOnlyList<Stmt> statements) => statements.SelectMany(statement => statement switch
        {
            AssignStmt assign => assign.Targets.SelectMany(Targets),
            AnnAssignStmt ann => Targets(ann.Target),
            AugAssignStmt aug => Targets(aug.Target),
            IfStmt conditional => Walk(conditional.Then).Concat(Walk(conditional.Else)),
            ForStmt loop => Targets(loop.Target).Concat(Walk(loop.Body)),
            WhileStmt loop => Walk(loop.Body),
            _ => [],
        });
        return Walk(body).Distinct(StringComparer.Ordinal);
    }
}
