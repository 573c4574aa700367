// What a Relay app of roombook would hold: a room page whose reservations paginate
// (@connection over reservationsConnection, refetched through Node), a paginated room list,
// and a booking. relay-compiler checks them against schema.graphql and persists them.
import { graphql } from 'react-relay';

export const roomReservations = graphql`
  fragment RoomReservations_room on Room
  @refetchable(queryName: "RoomReservationsPaginationQuery")
  @argumentDefinitions(
    count: { type: "Int", defaultValue: 2 }
    cursor: { type: "String" }
  ) {
    reservationsConnection(first: $count, after: $cursor)
      @connection(key: "RoomReservations_reservationsConnection") {
      totalCount
      edges {
        node {
          id
          start
          end
          title
        }
      }
    }
  }
`;
