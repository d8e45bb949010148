"""CustomerSupportAgentWorkflow: conversation memory as durable workflow state.

Messages arrive with the ``receive_message`` signal and are queued; the agent answers them one
by one with an LLM activity that sees the whole memory. ``history`` (query) returns the memory.
After ``max_turns_per_run`` answered turns the run continues as new *carrying the memory* (and
any queued messages), so a long conversation keeps its context with a bounded history.
``close`` (signal) ends the session once every queued message is answered.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import reference_agents.activities as acts
    import reference_agents.policies as policies
    from reference_agents.models import ChatMessage, SupportSession, SupportTranscript, SupportTurn


@workflow.defn
class CustomerSupportAgentWorkflow:
    """A support conversation that survives crashes, deployments and continue-as-new."""

    def __init__(self) -> None:
        self._memory: list[ChatMessage] = []
        self._pending: list[str] = []
        self._closed = False

    @workflow.signal
    def receive_message(self, message: str) -> None:
        """A new customer message."""
        self._pending.append(message)

    @workflow.signal
    def close(self) -> None:
        """End the session after the queued messages are answered."""
        self._closed = True

    @workflow.query
    def history(self) -> list[ChatMessage]:
        """The conversation memory (user and assistant messages, oldest first)."""
        return self._memory

    @workflow.run
    async def run(self, session: SupportSession) -> SupportTranscript:
        self._memory = list(session.memory)
        # Messages received by the previous run but not yet answered come first.
        self._pending = list(session.pending) + self._pending
        self._closed = self._closed or session.closed
        turns = 0
        while True:
            await workflow.wait_condition(lambda: bool(self._pending) or self._closed)
            if self._pending:
                self._memory.append(ChatMessage("user", self._pending.pop(0)))
                reply: str = await workflow.execute_activity(
                    acts.generate_support_reply,
                    SupportTurn(session.session_id, list(self._memory), session.model),
                    start_to_close_timeout=policies.LLM_TIMEOUT,
                    retry_policy=policies.LLM_RETRY,
                )
                self._memory.append(ChatMessage("assistant", reply))
                turns += 1
                if turns >= session.max_turns_per_run and not (self._closed and not self._pending):
                    await workflow.wait_condition(workflow.all_handlers_finished)
                    workflow.continue_as_new(
                        SupportSession(
                            session_id=session.session_id,
                            memory=self._memory,
                            pending=self._pending,
                            max_turns_per_run=session.max_turns_per_run,
                            runs=session.runs + 1,
                            model=session.model,
                            closed=self._closed,
                        )
                    )
                continue
            return SupportTranscript(session.session_id, self._memory, session.runs)


WORKFLOWS = [CustomerSupportAgentWorkflow]
ACTIVITIES = [acts.generate_support_reply]
